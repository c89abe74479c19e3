"""CRM adapters behind one interface (`base.CrmAdapter`), one module per CRM, over one HTTP transport."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line reads CRM_NAMES without the config models
    from cockpit.config import Settings
    from cockpit.crm.base import CrmAdapter

CRM_NAMES = ("hubspot", "salesforce")


def enabled_crms(settings: Settings) -> list[str]:
    return [name for name in CRM_NAMES if getattr(settings.crm, name).enabled]


def open_adapter(name: str, settings: Settings) -> CrmAdapter:
    """The adapter for CRM `name`, with its secrets read from the environment or the keyring."""
    if name == "hubspot":
        from cockpit.crm.hubspot import HubSpotAdapter

        return HubSpotAdapter(settings)
    if name == "salesforce":
        from cockpit.crm.salesforce import SalesforceAdapter

        return SalesforceAdapter(settings)
    raise ValueError(f"unknown CRM {name!r}")
