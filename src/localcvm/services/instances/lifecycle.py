"""The instance life cycle: which states each operation accepts, the interim state it shows while
its job runs, and the ``LatestOperation`` bookkeeping of DescribeInstances.

The CVM API shows an operation in progress as ``LatestOperationState`` ``OPERATING`` and refuses
any other operation on that instance meanwhile with ``OperationDenied.InstanceOperationInProgress``;
a state an operation does not accept gives ``UnsupportedOperation.InstanceState<State>``. Every
instance operation (and CreateImage, which captures an instance) goes through ``check_operation``
and ``begin_operation``; a job that ends writes ``finish_operation`` or ``fail_operation``.
"""

from __future__ import annotations

from collections.abc import Collection

from ...store.models import Instance
from .. import errors

OPERATING = "OPERATING"
SUCCESS = "SUCCESS"
FAILED = "FAILED"

# the states each operation accepts (the CVM API's documented preconditions)
LIVE = frozenset({"RUNNING", "STOPPED"})
ACCEPTS = {
    "StartInstances": frozenset({"STOPPED"}),
    "StopInstances": frozenset({"RUNNING"}),
    "RebootInstances": frozenset({"RUNNING"}),
    "TerminateInstances": frozenset({"RUNNING", "STOPPED", "LAUNCH_FAILED", "SHUTDOWN"}),
    "ResetInstance": LIVE,
    "ResizeInstanceDisks": LIVE,
    "ResetInstancesPassword": LIVE,
    "AssociateInstancesKeyPairs": LIVE,
    "DisassociateInstancesKeyPairs": LIVE,
    "AttachDisks": LIVE,
    "DetachDisks": LIVE,
    # a RUNNING instance only with ForceStop (checked by the caller); the job starts it again
    "ResetInstancesType": LIVE,
    # CBS ApplySnapshot of an attached disk: a stopped instance, or a running one with AutoStopInstance
    "ApplySnapshot": frozenset({"STOPPED"}),
    "ModifyInstancesChargeType": LIVE,
    "ModifyInstanceDiskType": frozenset({"STOPPED"}),
    "ModifyInstancesProject": frozenset({"RUNNING", "STOPPED", "LAUNCH_FAILED", "SHUTDOWN"}),
}
# the state an operation shows while its job runs (None: the state stays)
INTERIM = {
    "RunInstances": "PENDING",
    "StartInstances": "STARTING",
    "StopInstances": "STOPPING",
    "RebootInstances": "REBOOTING",
    "TerminateInstances": "TERMINATING",
    "ResetInstance": "PENDING",
}
# the interim state of an operation that depends on the state it starts from
INTERIM_FROM = {
    ("ResetInstancesType", "RUNNING"): "STOPPING",  # then STARTING once the new type is written
    ("ApplySnapshot", "RUNNING"): "STOPPING",  # AutoStopInstance
}


# ModifyInstancesAttribute changes settings only and runs beside an operation in progress, but not
# while the instance is being created (it documents UnsupportedOperation.InstanceStatePending).
SETTINGS_REFUSED = frozenset({"PENDING"})


def check_settings(row: Instance, action: str) -> None:
    """Refuse a settings-only ``action`` on an instance in a state that does not take settings."""
    if row.state in SETTINGS_REFUSED:
        raise errors.instance_state_error(row.state, row.instance_id, action)


def busy(row: Instance) -> bool:
    """True while an operation on the instance runs."""
    return row.latest_operation_state == OPERATING


def check_operation(row: Instance, action: str, allowed_states: Collection[str] | None = None,
                    what: str | None = None) -> None:
    """Refuse ``action`` on ``row`` unless its state is accepted and no other operation runs.

    ``allowed_states`` defaults to the action's documented set; ``what`` names the refused call in
    the state error (e.g. "ResetInstancesPassword without ForceStop")."""
    allowed = ACCEPTS.get(action, LIVE) if allowed_states is None else allowed_states
    if row.state not in allowed:
        raise errors.instance_state_error(row.state, row.instance_id, what or action)
    if busy(row):
        raise errors.OperationDeniedInstanceOperationInProgress(
            f"The instance `{row.instance_id}` is busy with {row.latest_operation}; retry when it has finished."
        )


def begin_operation(row: Instance, action: str, allowed_states: Collection[str] | None, request_id: str, *,
                    interim: str | None = None) -> None:
    """Check ``action`` (see ``check_operation``), then record it as running: ``LatestOperation``
    ``action``, ``OPERATING``, and the interim state (``interim``, else the action's own, else the
    state stays). The caller enqueues the job in the same transaction, or finishes the operation in a
    second one once its I/O is done."""
    check_operation(row, action, allowed_states)
    row.state = interim or INTERIM_FROM.get((action, row.state)) or INTERIM.get(action) or row.state
    row.latest_operation, row.latest_operation_state = action, OPERATING
    row.latest_operation_request_id, row.latest_operation_error = request_id, ""


def begin_launch(row: Instance, request_id: str) -> None:
    """A new instance of RunInstances: ``PENDING`` while its launch job runs."""
    row.state = INTERIM["RunInstances"]
    row.latest_operation, row.latest_operation_state = "RunInstances", OPERATING
    row.latest_operation_request_id, row.latest_operation_error = request_id, ""


def record_done(row: Instance, action: str, request_id: str) -> None:
    """An operation that completes within its request (ResetInstancesPassword): ``SUCCESS`` at once."""
    row.latest_operation, row.latest_operation_state = action, SUCCESS
    row.latest_operation_request_id, row.latest_operation_error = request_id, ""


def advance(row: Instance, state: str) -> None:
    """The running operation's job has moved the instance to ``state`` (e.g. CreateImage with
    ForcePoweroff: STOPPING, then STOPPED while the disks are captured); it is still OPERATING."""
    row.state = state


def change_type(row: Instance, instance_type: str, cpu: int, memory_gib: int) -> None:
    """ResetInstancesType's job writes the new type while the VM is off; the instance is still
    OPERATING, and the new CPU and memory are what its next start boots with."""
    row.instance_type, row.cpu, row.memory_gib = instance_type, cpu, memory_gib


def finish_operation(row: Instance, state: str | None = None) -> None:
    """The running operation succeeded; the instance is now in ``state`` (None: it stays)."""
    if state is not None:
        row.state = state
    row.latest_operation_state = SUCCESS


def fail_operation(row: Instance, message: str, state: str | None = None) -> None:
    """The running operation failed with ``message``; the instance is now in ``state`` (None: it stays)."""
    if state is not None:
        row.state = state
    row.latest_operation_state = FAILED
    row.latest_operation_error = message[:512]


def state_after_failure(launch: bool, vm_running: bool | None) -> str:
    """What a failed job leaves: a launch LAUNCH_FAILED; any other operation the state the VM is in
    (RUNNING or STOPPED; STOPPED when the driver cannot tell)."""
    if launch:
        return "LAUNCH_FAILED"
    return "RUNNING" if vm_running else "STOPPED"


def failure_message(exc: BaseException) -> str:
    """What ``LatestOperationErrorMsg`` says for a failed job."""
    return exc.message if isinstance(exc, errors.ApiError) else f"{type(exc).__name__}: {exc}"


def observed_stop(row: Instance) -> bool:
    """The VM of a RUNNING instance with no operation in progress was found powered off (the guest
    shut itself down, or its hypervisor process died): the instance is STOPPED, as the real service
    shows an instance whose OS powered off. Returns True when the row changed."""
    if row.state != "RUNNING" or busy(row):
        return False
    row.state = "STOPPED"
    return True
