"""WellFlow's job kinds: one module per queue, each a payload model plus its processor."""
