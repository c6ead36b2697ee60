"""ORM models, one module per aggregate. Importing this package registers all of them."""

from showroom.models.audit import AuditEntry
from showroom.models.catalogue import Trim, TrimColour, TrimOption
from showroom.models.consent import Consent
from showroom.models.customer import Customer, CustomerMerge, CustomerPhone, IntentChange
from showroom.models.dealer import Dealer, DealerSetting, User
from showroom.models.follow_up import FollowUp
from showroom.models.interaction import Interaction
from showroom.models.local import LocalState, SearchDoc, SearchKey, SyncOutbox
from showroom.models.quote import Quote, QuoteLine
from showroom.models.sync import SyncConflict
from showroom.models.test_drive import TestDrive
from showroom.models.vehicle import CustomerVehicle

__all__ = [
    "AuditEntry",
    "Consent",
    "Customer",
    "CustomerMerge",
    "CustomerPhone",
    "CustomerVehicle",
    "Dealer",
    "DealerSetting",
    "FollowUp",
    "IntentChange",
    "Interaction",
    "LocalState",
    "Quote",
    "QuoteLine",
    "SearchDoc",
    "SearchKey",
    "SyncConflict",
    "SyncOutbox",
    "TestDrive",
    "Trim",
    "TrimColour",
    "TrimOption",
    "User",
]
