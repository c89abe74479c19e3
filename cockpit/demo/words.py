"""Words the demo book is made of: company and people names, subjects, comments and summaries."""

from __future__ import annotations

from typing import Final

PREFIXES: Final = (
    "Amber", "Apex", "Arbor", "Atlas", "Aurora", "Beacon", "Birch", "Blue", "Bright", "Cedar", "Cobalt",
    "Copper", "Coral", "Crest", "Crystal", "Delta", "Ember", "Evergreen", "Falcon", "Fern", "Golden",
    "Granite", "Harbor", "Hazel", "Horizon", "Indigo", "Iron", "Juniper", "Keystone", "Lantern", "Maple",
    "Meridian", "Nimbus", "North", "Oak", "Onyx", "Orchid", "Pine", "Polar", "Prairie", "Quartz", "Raven",
    "River", "Sage", "Silver", "Slate", "Summit", "Tidal", "Vista",
)  # fmt: skip
CORES: Final = (
    "Arc", "Bay", "Bear", "Bridge", "Brook", "Canyon", "Cliff", "Cloud", "Coast", "Crane", "Creek", "Dale",
    "Dune", "Elk", "Field", "Fjord", "Forge", "Fox", "Gate", "Glen", "Grove", "Haven", "Hawk", "Heron",
    "Hill", "Hollow", "Isle", "Lake", "Leaf", "Ledge", "Light", "Line", "Lynx", "Marsh", "Meadow", "Mesa",
    "Mill", "Moor", "Otter", "Owl", "Path", "Peak", "Pier", "Point", "Pond", "Port", "Ridge", "Rock", "Root",
    "Shore", "Sky", "Spring", "Star", "Stone", "Stream", "Tower", "Vale", "Valley", "Wave", "Wind", "Wolf",
    "Wood", "Works", "Yard",
)  # fmt: skip
# Company names combine one word of each list (so their lengths, 49, 64 and 41, must stay pairwise coprime:
# see the generator's _company); the suffix implies the industry.
SUFFIXES: Final = (
    ("Analytics", "Software"), ("Logistics", "Logistics"), ("Health", "Healthcare"),
    ("Foods", "Food & beverage"), ("Labs", "Software"), ("Systems", "Software"),
    ("Partners", "Professional services"), ("Robotics", "Manufacturing"), ("Media", "Media"),
    ("Energy", "Energy"), ("Capital", "Financial services"), ("Insurance", "Financial services"),
    ("Bank", "Financial services"), ("Retail", "Retail"), ("Outfitters", "Retail"), ("Apparel", "Retail"),
    ("Motors", "Automotive"), ("Manufacturing", "Manufacturing"), ("Industries", "Manufacturing"),
    ("Biotech", "Life sciences"), ("Pharma", "Life sciences"), ("Clinics", "Healthcare"),
    ("Education", "Education"), ("Academy", "Education"), ("Travel", "Travel"), ("Hotels", "Hospitality"),
    ("Studios", "Media"), ("Games", "Media"), ("Security", "Software"), ("Networks", "Telecommunications"),
    ("Telecom", "Telecommunications"), ("Construction", "Construction"), ("Realty", "Real estate"),
    ("Properties", "Real estate"), ("Legal", "Professional services"),
    ("Consulting", "Professional services"), ("Freight", "Logistics"), ("Marine", "Logistics"),
    ("Farms", "Agriculture"), ("Solar", "Energy"), ("Aerospace", "Aerospace"),
)  # fmt: skip
REGIONS: Final = ("NA", "NA", "NA", "EMEA", "EMEA", "APAC", "LATAM")
TLDS: Final = ("com", "com", "com", "io", "co", "net")

OWNERS: Final = (
    "Maya Okafor", "Jonas Berg", "Priya Raman", "Lucas Moreau", "Sofia Marquez", "Daniel Kim", "Aisha Bello",
)  # fmt: skip
FIRST_NAMES: Final = (
    "Ada", "Alex", "Amara", "Ana", "Ben", "Carla", "Chen", "Chloe", "Dana", "David", "Diego", "Elena", "Emil",
    "Eva", "Farah", "Felix", "Grace", "Hana", "Hugo", "Ian", "Ines", "Jack", "Jana", "Kai", "Kenji", "Lara",
    "Leo", "Lina", "Marco", "Maria", "Mateo", "Mia", "Nadia", "Nina", "Noah", "Omar", "Oscar", "Paula",
    "Quinn", "Rosa", "Ravi", "Sara", "Tom", "Uma", "Victor", "Wei", "Yara", "Zoe",
)  # fmt: skip
LAST_NAMES: Final = (
    "Adams", "Alvarez", "Baker", "Bauer", "Chen", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Gupta",
    "Hansen", "Ito", "Jensen", "Khan", "Kowalski", "Larsen", "Lopez", "Mendes", "Meyer", "Murphy", "Nakamura",
    "Novak", "Nunez", "Olsen", "Patel", "Perez", "Quinn", "Reyes", "Rossi", "Sato", "Schmidt", "Silva",
    "Singh", "Smith", "Suzuki", "Tanaka", "Thomas", "Torres", "Novikova", "Wagner", "Walsh", "Weber", "Wong",
    "Yilmaz", "Young", "Zhang", "Ziegler",
)  # fmt: skip
ROLES: Final = ("Champion", "Admin", "Executive sponsor", "End user", "End user", "Billing", "IT")

EMAIL_SUBJECTS: Final = (
    "Your monthly product digest",
    "New in Dashboards: shared filters",
    "Invitation: customer webinar on reporting",
    "Your quarterly usage summary",
    "Tips to get more from Workflows",
    "Release notes: faster exports",
    "Checking in on your rollout",
    "Your admin checklist for next quarter",
    "Security update: single sign-on improvements",
    "Join our customer advisory board",
)
EMAIL_CAMPAIGNS: Final = {
    "Your monthly product digest": "Monthly digest",
    "New in Dashboards: shared filters": "Product news",
    "Invitation: customer webinar on reporting": "Webinars",
    "Your quarterly usage summary": "Usage summary",
    "Tips to get more from Workflows": "Tips",
    "Release notes: faster exports": "Release notes",
    "Security update: single sign-on improvements": "Security notices",
}
"""The subjects of `EMAIL_SUBJECTS` that go out in bulk, by the campaign that sends them (in the send's
payload); the others are a person's own emails."""
UNOPENED_STORY_SUBJECTS: Final = (EMAIL_SUBJECTS[0], EMAIL_SUBJECTS[3], EMAIL_SUBJECTS[7], EMAIL_SUBJECTS[6])
"""The four emails the unopened-email story leaves unopened, oldest first: two newsletters, then the CSM's
own checklist and check-in."""
TICKET_SUBJECTS: Final = (
    "Dashboard not loading",
    "Export to CSV times out",
    "SSO login fails for new users",
    "Wrong totals in monthly report",
    "Webhook deliveries delayed",
    "How do I add seats?",
    "Alert emails not arriving",
    "Billing question about the last invoice",
    "API rate limit errors",
    "Permissions for read-only users",
)
NPS_COMMENTS: Final = {
    "promoter": ("Saves our team hours every week.", "Great product and great support.", None),
    "passive": ("Good, but reporting could be faster.", "Does the job.", None, None),
    "detractor": (
        "Too many outages lately.",
        "Hard to get the team to use it.",
        "Price went up again.",
        None,
    ),
}
REVIEW_TITLES: Final = (
    "The dashboard our whole team opens first",
    "Best CS tooling we have used",
    "Easy to roll out",
)

INTERACTION_SUMMARIES: Final = {
    "call": (
        "Call with {contact} about the {feature} rollout; agreed next steps.",
        "Call with {contact}: questions on {feature} permissions answered.",
        "Quick check-in call with {contact}; no open issues.",
    ),
    "meeting": (
        "Training session on {feature} for {contact}'s team.",
        "Working session with {contact} on their reporting setup.",
    ),
    "email": (
        "Sent {contact} the {feature} best-practice guide.",
        "{contact} asked about pricing for additional seats.",
    ),
    "note": (
        "Account plan updated: focus on {feature} adoption this quarter.",
        "Noted: budget review at the customer next month.",
    ),
    "qbr": (
        "QBR with {contact}: reviewed usage, goals for next quarter set.",
        "QBR with {contact}: walked through {feature} outcomes and roadmap.",
    ),
}
TROUBLE_CALLS: Final = (
    "Call with {contact}: usage down since their reorganisation; agreed a plan to re-onboard the team.",
    "Call with {contact}: frustrated with open tickets on {feature}; escalated internally.",
    "Call with {contact}: budget under review, the renewal is not confirmed yet.",
)
