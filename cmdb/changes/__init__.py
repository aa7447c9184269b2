"""Change planning: change records and windows, impact-based plans, conflicts, risk, drift, exports."""

from cmdb.changes.drift import DriftReport
from cmdb.changes.errors import ChangeError, ChangeNotFound, InvalidChange, InvalidTransition, NoSnapshot
from cmdb.changes.model import (
    TRANSITIONS,
    Change,
    ChangeAction,
    ChangeFilter,
    ChangeOutcome,
    ChangeState,
    ChangeWindow,
    TimeWindow,
    WindowKind,
)
from cmdb.changes.plan import ChangePlan, Conflict, RiskAssessment, RiskFactor, Snapshot, WindowFinding
from cmdb.changes.planner import ChangePlanner, PlanOptions
from cmdb.changes.risk import RiskRules, load_risk_rules
from cmdb.changes.service import ChangeService, ChangeView, NewChange

__all__ = [
    "TRANSITIONS", "Change", "ChangeAction", "ChangeError", "ChangeFilter", "ChangeNotFound", "ChangeOutcome",
    "ChangePlan", "ChangePlanner", "ChangeService", "ChangeState", "ChangeView", "ChangeWindow", "Conflict",
    "DriftReport", "InvalidChange", "InvalidTransition", "NewChange", "NoSnapshot", "PlanOptions",
    "RiskAssessment", "RiskFactor", "RiskRules", "Snapshot", "TimeWindow", "WindowFinding", "WindowKind",
    "load_risk_rules",
]
