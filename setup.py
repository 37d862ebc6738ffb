"""Packages for setuptools: everything under wellqueue_tui/, plus the top-level styles/ as wellqueue_tui.styles."""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["wellqueue_tui*"]), "wellqueue_tui.styles"],
    package_dir={"wellqueue_tui.styles": "styles"},
)
