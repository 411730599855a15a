"""JobSpec → one hera Workflow: configure → [preprocess →] algorithm, then publish
(docs/design.md#the-flow).

``publish`` is the Workflow's exit handler (``onExit``): it runs however the DAG ended —
failed, or stopped with Argo's ``stop`` (not ``terminate``), which skips DAG tasks that have not
started but still runs exit handlers — so a stopped job's logs come out on both engines. A
dataset's publisher template (``spec.preprocess_template``) runs between configure and the
algorithm (``workflows.publisher_templates``).

Pure: reads no environment, clock or network. Both engines take the Workflow built here; the
Argo engine submits it, the local engine executes it on this machine after resolving the
``templateRef``s (``workflows.templates.inline_template_refs``) and walks the exit handler
after the DAG as Argo does.
"""

from __future__ import annotations

from dataclasses import dataclass

from hera.workflows import models as m
from hera.workflows.dag import DAG
from hera.workflows.resource import Resource
from hera.workflows.task import Task
from hera.workflows.workflow import Workflow

from workflows import contract
from workflows.algorithm_pod import Placement, algorithm_argv, algorithm_pod, manifest_text
from workflows.annotations import STEP_LABEL, job_annotations, job_labels
from workflows.publisher_templates import PREPROCESS_STEP
from workflows.spec import JobSpec
from workflows.templates import (
    CONFIGURE_TEMPLATE,
    JOB_ID_PARAMETER,
    PUBLISH_TEMPLATE,
    RESULT_STORE_PARAMETER,
    step_pod_security_context,
)

__all__ = [
    "EXECUTOR_ACCOUNT",
    "EXIT_HANDLER",
    "LAUNCHER_ACCOUNT",
    "Placement",
    "StepImages",
    "algorithm_argv",
    "build_workflow",
]

# The template ``spec.onExit`` names: a DAG whose one task is publish (onExit names a template
# of the Workflow, so the templateRef to c2d-publish sits one level down).
EXIT_HANDLER = "exit-handler"
# Argo's executor (init/wait containers) reports results with this account's token; no step's
# own container gets a token (automountServiceAccountToken: false on the Workflow).
EXECUTOR_ACCOUNT = "c2d-executor"
# Only the algorithm's resource template runs its executor as this account, which may create
# the algorithm Pod (argo/base/rbac-workflow.yaml, and an admission policy on what it creates).
LAUNCHER_ACCOUNT = "c2d-launcher"
# Finished Workflows (and, with them, their volume claim and spec Secret) go after a day.
_TTL_SECONDS = 86400


@dataclass(frozen=True)
class StepImages:
    """Cluster-wide settings of every job's Workflow; the algorithm's image comes from the request.

    ``steps`` is the image of the trusted steps: the cluster takes it from the installed
    WorkflowTemplates (``argo/``), the local engine runs the steps with its own interpreter.
    """

    steps: str = contract.STEPS_IMAGE
    service_account: str = "c2d-workflow"
    # Keep step logs in the artifact repository (Argo's ``archiveLogs``).
    archive_logs: bool = False
    # Results go to the result store on S3 (workflows/result_store.py): publish writes them to
    # a scratch folder first, so the jobs need no shared result volume.
    result_store: bool = False


def build_workflow(
    spec: JobSpec, images: StepImages, placement: Placement | None = None
) -> Workflow:
    labels = job_labels(spec)
    algorithm = Resource(
        name="algorithm",
        action="create",
        set_owner_reference=True,
        manifest=manifest_text(algorithm_pod(spec, labels, placement)),
        success_condition="status.phase == Succeeded",
        failure_condition="status.phase in (Failed, Error)",
        labels={STEP_LABEL: "algorithm-launcher"},
        executor=m.ExecutorConfig(service_account_name=LAUNCHER_ACCOUNT),
    )
    with Workflow(
        name=spec.workflow_name,
        entrypoint="main",
        labels=labels,
        annotations=job_annotations(spec),
        # Every pod of the job (steps and launcher) carries the job's labels.
        pod_metadata=m.Metadata(labels=labels),
        service_account_name=images.service_account,
        automount_service_account_token=False,
        executor=m.ExecutorConfig(service_account_name=EXECUTOR_ACCOUNT),
        # Every step pod: uid 1000, and fsGroup so that it may write the kubelet-made subPaths.
        security_context=step_pod_security_context(),
        volume_claim_templates=[_job_volume_claim(spec)],
        volumes=[
            m.Volume(
                name=contract.VOLUME_SPEC,
                secret=m.SecretVolumeSource(secret_name=f"{spec.workflow_name}-jobspec"),
            ),
            _results_volume(images.result_store),
        ],
        pod_gc=m.PodGC(strategy="OnPodCompletion"),
        # Argo's default keeps a failed or stopped job's volume (its datasets) until the TTL.
        volume_claim_gc=m.VolumeClaimGC(strategy="OnWorkflowCompletion"),
        ttl_strategy=m.TTLStrategy(seconds_after_completion=_TTL_SECONDS),
        active_deadline_seconds=spec.limits.max_job_duration + 3600,
        archive_logs=True if images.archive_logs else None,
        on_exit=EXIT_HANDLER,
        # The steps run where the algorithm may (Argo's addSchedulingConstraints): a zonal
        # volume is bound where configure runs first, and must be where the algorithm can go.
        node_selector=dict(placement.node_selector)
        if placement and placement.node_selector
        else None,
        tolerations=[m.Toleration.model_validate(t) for t in placement.tolerations]
        if placement and placement.tolerations
        else None,
    ) as workflow:
        workflow.templates.append(algorithm)
        with DAG(name="main"):
            Task(
                name="configure",
                template_ref=m.TemplateRef(name=CONFIGURE_TEMPLATE, template="configure"),
            )
            before_algorithm = "configure"
            if spec.preprocess_template:
                Task(
                    name=PREPROCESS_STEP,
                    template_ref=m.TemplateRef(
                        name=spec.preprocess_template, template=PREPROCESS_STEP
                    ),
                    depends="configure.Succeeded",
                )
                before_algorithm = PREPROCESS_STEP
            algorithm(name="algorithm", depends=f"{before_algorithm}.Succeeded")
        with DAG(name=EXIT_HANDLER):
            Task(
                name="publish",
                template_ref=m.TemplateRef(name=PUBLISH_TEMPLATE, template="publish"),
                arguments=[
                    m.Parameter(name=JOB_ID_PARAMETER, value=spec.job_id),
                    *_result_store_argument(images.result_store),
                ],
            )
    return workflow


def _job_volume_claim(spec: JobSpec) -> m.PersistentVolumeClaim:
    return m.PersistentVolumeClaim(
        metadata=m.ObjectMeta(name=contract.VOLUME_DATA),
        spec=m.PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            resources=m.VolumeResourceRequirements(
                requests={"storage": m.Quantity(_gibibytes(spec.limits.disk_bytes))}
            ),
        ),
    )


def _gibibytes(size: int) -> str:
    return f"{max(1, -(-size // 2**30))}Gi"


def _result_store_argument(result_store: bool) -> list[m.Parameter]:
    return [m.Parameter(name=RESULT_STORE_PARAMETER, value="required")] if result_store else []


def _results_volume(result_store: bool) -> m.Volume:
    if result_store:
        return m.Volume(name=contract.VOLUME_RESULTS, empty_dir=m.EmptyDirVolumeSource())
    return m.Volume(
        name=contract.VOLUME_RESULTS,
        persistent_volume_claim=m.PersistentVolumeClaimVolumeSource(claim_name="c2d-results"),
    )
