"""The services: one module per operation the CLI and the TUI call (score the book, fit lifetime values,
plan and review outreach, import files, log an interaction, check the installation, build the demo book,
the book's views, the CRM sync). Each takes the store, the settings and the clock, and returns typed
results; none prints or draws."""
