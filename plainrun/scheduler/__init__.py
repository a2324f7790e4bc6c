"""Schedules firing: when slots fall (``timing``) and the loop that fires them (``loop``).

``plainrun scheduler`` runs one loop alone; ``plainrun serve`` runs one beside the API with
``running(Scheduler(services.schedules))``. Any number may run against one database.
"""

from __future__ import annotations

from plainrun.scheduler.loop import Scheduler, SchedulerThread, running
from plainrun.scheduler.timing import Timing

__all__ = ["Scheduler", "SchedulerThread", "Timing", "running"]
