"""Triggers: workflows run by a schedule, a new file or a webhook (``llmos serve``).

:mod:`.spec` parses and checks a workflow's ``triggers``; :mod:`.server` runs them
(bounded per-workflow queues, one engine, a trace per run). See docs/triggers.md.
"""

from llmos_jupyter._triggers.spec import (
                                          FileTrigger,
                                          ScheduleTrigger,
                                          Trigger,
                                          TriggerInvalid,
                                          WebhookTrigger,
                                          check_inputs,
                                          load_triggers,
                                          next_times,
                                          parse_triggers,
)

__all__ = ["FileTrigger", "ScheduleTrigger", "Trigger", "TriggerInvalid", "WebhookTrigger",
           "check_inputs", "load_triggers", "next_times", "parse_triggers"]
