"""Change planning: change records and windows, impact-based plans, conflicts, risk, drift, exports.

Names are imported from their modules on first use (PEP 562): importing the light
``cmdb.changes.model`` (records, enums) must not load the planner and, through the
impact engine, numpy. ``cmdb --help`` depends on it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cmdb.changes.approval import ApprovalOutcome
    from cmdb.changes.drift import DriftReport
    from cmdb.changes.errors import (
        ApprovalConflict,
        ApprovalRefused,
        CannotStart,
        ChangeError,
        ChangeNotFound,
        InvalidChange,
        InvalidTransition,
        NoSnapshot,
    )
    from cmdb.changes.model import (
        TRANSITIONS,
        Approval,
        Change,
        ChangeAction,
        ChangeFilter,
        ChangeModelKind,
        ChangeOutcome,
        ChangeState,
        ChangeWindow,
        Review,
        TimeWindow,
        WindowKind,
    )
    from cmdb.changes.plan import ChangePlan, Conflict, RiskAssessment, RiskFactor, Snapshot, WindowFinding
    from cmdb.changes.planner import ChangePlanner, PlanOptions
    from cmdb.changes.policy import ChangePolicy, load_policy
    from cmdb.changes.risk import RiskRules, load_risk_rules
    from cmdb.changes.service import ChangeService, ChangeView, NewChange

_MODULE_OF = {
    "DriftReport": "drift",
    **dict.fromkeys(("ApprovalConflict", "ApprovalRefused", "CannotStart", "ChangeError", "ChangeNotFound",
                     "InvalidChange", "InvalidTransition", "NoSnapshot"), "errors"),
    **dict.fromkeys(("TRANSITIONS", "Approval", "Change", "ChangeAction", "ChangeFilter", "ChangeModelKind",
                     "ChangeOutcome", "ChangeState", "ChangeWindow", "Review", "TimeWindow", "WindowKind"), "model"),
    **dict.fromkeys(("ChangePolicy", "load_policy"), "policy"),
    **dict.fromkeys(("ChangePlan", "Conflict", "RiskAssessment", "RiskFactor", "Snapshot", "WindowFinding"), "plan"),
    **dict.fromkeys(("ChangePlanner", "PlanOptions"), "planner"),
    **dict.fromkeys(("RiskRules", "load_risk_rules"), "risk"),
    "ApprovalOutcome": "approval",
    **dict.fromkeys(("ChangeService", "ChangeView", "NewChange"), "service"),
}

__all__ = [
    "TRANSITIONS", "Approval", "ApprovalConflict", "ApprovalOutcome", "ApprovalRefused", "CannotStart", "Change",
    "ChangeAction", "ChangeError", "ChangeFilter", "ChangeModelKind", "ChangeNotFound", "ChangeOutcome",
    "ChangePlan", "ChangePlanner", "ChangePolicy", "ChangeService", "ChangeState", "ChangeView", "ChangeWindow",
    "Conflict", "DriftReport", "InvalidChange", "InvalidTransition", "NewChange", "NoSnapshot", "PlanOptions",
    "Review", "RiskAssessment", "RiskFactor", "RiskRules", "Snapshot", "TimeWindow", "WindowFinding", "WindowKind",
    "load_policy", "load_risk_rules",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # looked up once
    return value
