"""The command line (typer): one module per command group, commands at module level."""
