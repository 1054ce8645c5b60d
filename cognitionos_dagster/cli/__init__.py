"""The `cognos` command: a typer app whose sub-commands live one module each."""
