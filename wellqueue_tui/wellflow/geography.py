"""Where producing states lie and which counties they have: bounding boxes, Census county lists, and
a county-name lookup that ignores case, accents, spacing and a trailing "County"/"Parish"."""

from __future__ import annotations

import re
import unicodedata

#: (min latitude, max latitude, min longitude, max longitude) of producing states.
STATE_BOUNDS: dict[str, tuple[float, float, float, float]] = {
    "TX": (25.837, 36.501, -106.646, -93.508),
    "NM": (31.332, 37.000, -109.050, -103.002),
    "OK": (33.616, 37.002, -103.002, -94.431),
    "ND": (45.935, 49.000, -104.049, -96.554),
    "LA": (28.928, 33.019, -94.043, -88.817),
    "CO": (36.993, 41.003, -109.060, -102.042),
    "WY": (40.994, 45.006, -111.056, -104.052),
    "PA": (39.720, 42.270, -80.520, -74.690),
    "KS": (36.993, 40.003, -102.052, -94.588),
    "MT": (44.358, 49.001, -116.050, -104.039),
    "UT": (36.998, 42.002, -114.053, -109.041),
    "OH": (38.403, 41.978, -84.820, -80.519),
    "WV": (37.201, 40.638, -82.644, -77.719),
    "CA": (32.534, 42.010, -124.410, -114.131),
}


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(","))


#: Every county of the states whose county is checked (complete lists, Census names).
COUNTIES: dict[str, tuple[str, ...]] = {
    "TX": _names(
        "Anderson, Andrews, Angelina, Aransas, Archer, Armstrong, Atascosa, Austin, Bailey, Bandera, "
        "Bastrop, Baylor, Bee, Bell, Bexar, Blanco, Borden, Bosque, Bowie, Brazoria, Brazos, Brewster, "
        "Briscoe, Brooks, Brown, Burleson, Burnet, Caldwell, Calhoun, Callahan, Cameron, Camp, Carson, Cass, "
        "Castro, Chambers, Cherokee, Childress, Clay, Cochran, Coke, Coleman, Collin, Collingsworth, "
        "Colorado, Comal, Comanche, Concho, Cooke, Coryell, Cottle, Crane, Crockett, Crosby, Culberson, "
        "Dallam, Dallas, Dawson, Deaf Smith, Delta, Denton, DeWitt, Dickens, Dimmit, Donley, Duval, "
        "Eastland, Ector, Edwards, Ellis, El Paso, Erath, Falls, Fannin, Fayette, Fisher, Floyd, Foard, "
        "Fort Bend, Franklin, Freestone, Frio, Gaines, Galveston, Garza, Gillespie, Glasscock, Goliad, "
        "Gonzales, Gray, Grayson, Gregg, Grimes, Guadalupe, Hale, Hall, Hamilton, Hansford, Hardeman, "
        "Hardin, Harris, Harrison, Hartley, Haskell, Hays, Hemphill, Henderson, Hidalgo, Hill, Hockley, "
        "Hood, Hopkins, Houston, Howard, Hudspeth, Hunt, Hutchinson, Irion, Jack, Jackson, Jasper, "
        "Jeff Davis, Jefferson, Jim Hogg, Jim Wells, Johnson, Jones, Karnes, Kaufman, Kendall, Kenedy, Kent, "
        "Kerr, Kimble, King, Kinney, Kleberg, Knox, Lamar, Lamb, Lampasas, La Salle, Lavaca, Lee, Leon, "
        "Liberty, Limestone, Lipscomb, Live Oak, Llano, Loving, Lubbock, Lynn, McCulloch, McLennan, "
        "McMullen, Madison, Marion, Martin, Mason, Matagorda, Maverick, Medina, Menard, Midland, Milam, "
        "Mills, Mitchell, Montague, Montgomery, Moore, Morris, Motley, Nacogdoches, Navarro, Newton, Nolan, "
        "Nueces, Ochiltree, Oldham, Orange, Palo Pinto, Panola, Parker, Parmer, Pecos, Polk, Potter, "
        "Presidio, Rains, Randall, Reagan, Real, Red River, Reeves, Refugio, Roberts, Robertson, Rockwall, "
        "Runnels, Rusk, Sabine, San Augustine, San Jacinto, San Patricio, San Saba, Schleicher, Scurry, "
        "Shackelford, Shelby, Sherman, Smith, Somervell, Starr, Stephens, Sterling, Stonewall, Sutton, "
        "Swisher, Tarrant, Taylor, Terrell, Terry, Throckmorton, Titus, Tom Green, Travis, Trinity, Tyler, "
        "Upshur, Upton, Uvalde, Val Verde, Van Zandt, Victoria, Walker, Waller, Ward, Washington, Webb, "
        "Wharton, Wheeler, Wichita, Wilbarger, Willacy, Williamson, Wilson, Winkler, Wise, Wood, Yoakum, "
        "Young, Zapata, Zavala"
    ),
    "NM": _names(
        "Bernalillo, Catron, Chaves, Cibola, Colfax, Curry, De Baca, Doña Ana, Eddy, Grant, Guadalupe, "
        "Harding, Hidalgo, Lea, Lincoln, Los Alamos, Luna, McKinley, Mora, Otero, Quay, Rio Arriba, "
        "Roosevelt, Sandoval, San Juan, San Miguel, Santa Fe, Sierra, Socorro, Taos, Torrance, Union, "
        "Valencia"
    ),
    "OK": _names(
        "Adair, Alfalfa, Atoka, Beaver, Beckham, Blaine, Bryan, Caddo, Canadian, Carter, Cherokee, Choctaw, "
        "Cimarron, Cleveland, Coal, Comanche, Cotton, Craig, Creek, Custer, Delaware, Dewey, Ellis, "
        "Garfield, Garvin, Grady, Grant, Greer, Harmon, Harper, Haskell, Hughes, Jackson, Jefferson, "
        "Johnston, Kay, Kingfisher, Kiowa, Latimer, Le Flore, Lincoln, Logan, Love, McClain, McCurtain, "
        "McIntosh, Major, Marshall, Mayes, Murray, Muskogee, Noble, Nowata, Okfuskee, Oklahoma, Okmulgee, "
        "Osage, Ottawa, Pawnee, Payne, Pittsburg, Pontotoc, Pottawatomie, Pushmataha, Roger Mills, Rogers, "
        "Seminole, Sequoyah, Stephens, Texas, Tillman, Tulsa, Wagoner, Washington, Washita, Woods, Woodward"
    ),
    "ND": _names(
        "Adams, Barnes, Benson, Billings, Bottineau, Bowman, Burke, Burleigh, Cass, Cavalier, Dickey, "
        "Divide, Dunn, Eddy, Emmons, Foster, Golden Valley, Grand Forks, Grant, Griggs, Hettinger, Kidder, "
        "LaMoure, Logan, McHenry, McIntosh, McKenzie, McLean, Mercer, Morton, Mountrail, Nelson, Oliver, "
        "Pembina, Pierce, Ramsey, Ransom, Renville, Richland, Rolette, Sargent, Sheridan, Sioux, Slope, "
        "Stark, Steele, Stutsman, Towner, Traill, Walsh, Ward, Wells, Williams"
    ),
}


def county_key(name: str) -> str:
    """A county name reduced for comparison: "De Witt County" and "DeWitt" match, as do "Doña Ana" and "Dona Ana"."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower().strip()
    plain = re.sub(r"\s+(county|parish)$", "", plain)
    return re.sub(r"[^a-z]", "", plain)


_COUNTY_KEYS = {state: frozenset(map(county_key, names)) for state, names in COUNTIES.items()}


def county_in_state(county: str, state: str) -> bool | None:
    """Whether `county` is one of `state`'s counties; None when `state` has no county list here."""
    known = _COUNTY_KEYS.get(state)
    return None if known is None else county_key(county) in known
