"""The commands: each a thin Typer function filling a frozen `<Cmd>Options`, and a
`run_<cmd>(opts, deps)` holding the behaviour (gh's layout). No HTTP, no SQL here."""
