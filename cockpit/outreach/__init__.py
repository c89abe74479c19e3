"""Outreach: playbooks that queue personalised drafts under one contact policy, and their review.

Pure parts: `triggers` (the trigger language), `templates` (the sandbox), `policy` (who, when), `facts`,
`playbooks` (compiled settings), `planner` (facts in, decisions out), `items` (what the review shows). The
service the CLI, the TUI and the sync call is `cockpit.services.outreach`; its SQL is `cockpit.store.outreach`. See
docs/outreach.md.
"""
