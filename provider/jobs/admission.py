"""Admission: a start request + environment + resolved assets → a JobSpec, or a typed refusal.

Every check a start request goes through before anything runs lives here, in the order a
client would want to hear about problems: environment, resources, image, algorithm, datasets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provider.assets.ddo import Ddo, Service, container_section_checksum, did_hex, service_by_id
from provider.assets.kept_inputs import KeptInputs
from provider.assets.policy import (
    AlgorithmFacts,
    authorize_algorithm,
    check_credentials,
    network_allowed,
    split_files_checksum,
)
from provider.assets.resolver import AssetResolver
from provider.assets.results import KEPT_FILE_TYPE
from provider.environments import EnvironmentConfig
from provider.errors import BadRequest, Forbidden, NotFound
from provider.images import registry_image_allowed
from provider.jobs.file_objects import parse_file_object, with_userdata
from provider.jobs.output import parse_output
from provider.jobs.preprocess import preprocess_template
from provider.jobs.registry_auth import open_registry_auth
from provider.jobs.requests import AlgorithmRequest, DatasetRequest, StartRequest
from provider.jobs.resources import job_limits
from steps.images.reference import InvalidReference
from steps.readers.guard import SourcePolicy
from workflows.engines.base import Unsupported
from workflows.spec import AlgorithmSpec, Container, FileObject, InputSpec, JobSpec, Limits

__all__ = [
    "AdmissionContext",
    "admit_free_job",
    "admit_paid_job",
]


@dataclass(frozen=True)
class AdmissionContext:
    environment: EnvironmentConfig
    resolver: AssetResolver
    job_id: str
    now: int
    # The engine's ``check``: raises Unsupported for a job it cannot run as asked.
    engine_check: Callable[[JobSpec], None]
    # The provider key: opens ``output`` and ``encryptedDockerRegistryAuth`` (refused without).
    output_key: bytes | None = None
    # Where an ``output`` storage may be (the source guard's networks).
    source_policy: SourcePolicy = field(default_factory=SourcePolicy)
    # File type → gateway URL (ipfs, arweave), from the operator's settings.
    gateways: Mapping[str, str] = field(default_factory=dict)
    # Published results (c2dResult files) as inputs; None: this provider publishes none.
    kept_inputs: KeptInputs | None = None


@dataclass(frozen=True)
class _Algorithm:
    spec: AlgorithmSpec
    facts: AlgorithmFacts


def admit_free_job(request: StartRequest, ctx: AdmissionContext) -> JobSpec:
    env = ctx.environment
    if env.free is None:
        raise BadRequest(f"environment {env.id} is not free: start paid jobs with computeStart")
    if paid_only := request.payment_fields():
        raise BadRequest(f"{', '.join(paid_only)}: a free job takes no payment and no orders")
    if request.publish_results is not None:
        raise BadRequest(
            "publishResults: a free job's results are not published as an asset (the provider"
            " pays the gas, which only a paid environment's price covers); start a paid job"
        )
    return _admit(request, ctx, job_limits(request, env, free=True))


def admit_paid_job(request: StartRequest, ctx: AdmissionContext) -> JobSpec:
    """As a free job, within the environment's own (not its free) limits; payment is checked
    afterwards by the PaymentGate."""
    env = ctx.environment
    if env.free is not None:
        raise BadRequest(f"environment {env.id} is free: start jobs on it with freeCompute")
    return _admit(request, ctx, job_limits(request, env, free=False))


def _admit(request: StartRequest, ctx: AdmissionContext, limits: Limits) -> JobSpec:
    if request.registry_auth:
        # Opened now so that bad credentials are a 400, not a failed pull; the job keeps them
        # sealed (the provider opens them again to pull).
        open_registry_auth(request.registry_auth, ctx.output_key)
    raw = request.algorithm.raw
    if raw is not None and raw.dockerfile:
        raise BadRequest(
            "container.dockerfile: this environment does not build images; give an image"
            " (and tag or checksum) that a registry serves"
        )
    env = ctx.environment
    output = parse_output(
        request.output,
        private_key=ctx.output_key,
        policy=ctx.source_policy,
        file_name=f"outputs-{env.id}-{ctx.job_id}.tar",
    )
    # How long configure waits on a silent data source (steps/download.py), per environment.
    limits = limits.model_copy(update={"download_timeout": env.download_timeout})
    algorithm = _resolve_algorithm(request.algorithm, request.consumer_address, ctx)
    _check_image(algorithm.spec.container, env)
    inputs, network, trusted = _resolve_inputs(
        request.datasets, algorithm, request.consumer_address, ctx
    )
    spec = JobSpec(
        job_id=ctx.job_id,
        owner=request.consumer_address,
        environment=env.id,
        created_at=ctx.now,
        inputs=inputs,
        algorithm=_with_trusted_checksums(algorithm.spec, trusted),
        limits=limits,
        network=network,
        additional_viewers=tuple(request.additional_viewers),
        metadata=request.metadata,
        output=output,
        registry_auth=request.registry_auth or None,
        preprocess_template=preprocess_template(inputs, env),
    )
    try:
        ctx.engine_check(spec)
    except Unsupported as error:
        raise BadRequest(str(error)) from None
    return spec


# --- image ----------------------------------------------------------------------------------


def _check_image(container: Container, env: EnvironmentConfig) -> None:
    if container.reference in env.images:
        return
    try:
        if registry_image_allowed(container, env):
            return
    except InvalidReference as error:
        raise BadRequest(f"container.image: {error}") from None
    accepted = [*env.images, *(f"registry: {p}" for p in env.registry_images)]
    digests = " (pinned by digest only)" if env.registry_digests_only else ""
    raise BadRequest(
        f"image {container.reference} is not offered by environment {env.id};"
        f" it offers: {', '.join(accepted)}{digests}"
    )


# --- algorithm ------------------------------------------------------------------------------


def _resolve_algorithm(algo: AlgorithmRequest, consumer: str, ctx: AdmissionContext) -> _Algorithm:
    custom = {"custom_data": algo.custom_data, "envs": algo.envs}
    if algo.document_id:
        ddo = ctx.resolver.resolve(algo.document_id)
        if ddo.metadata.type != "algorithm":
            raise BadRequest(f"algorithm: {algo.document_id} is not an algorithm asset")
        check_credentials(ddo, consumer, label="algorithm")
        service = _service(ddo, algo.service_id, label="algorithm")
        meta_algorithm = ddo.metadata.algorithm
        if meta_algorithm is None or meta_algorithm.container is None:
            raise BadRequest(f"algorithm: {algo.document_id} has no container in its metadata")
        if getattr(meta_algorithm.container, "dockerfile", None):
            raise BadRequest(
                f"algorithm: {algo.document_id} asks for a dockerfile build; this environment"
                " does not build images"
            )
        container = Container(
            **meta_algorithm.container.model_dump(
                include={"entrypoint", "image", "tag", "checksum"}
            )
        )
        spec = AlgorithmSpec(
            container=container,
            did=ddo.id,
            service_id=service.id,
            files=_service_files(service, label="algorithm", ctx=ctx),
            ddo=ddo.as_published(),
            **custom,
        )
        facts = AlgorithmFacts(
            raw=False,
            did=ddo.id,
            publisher=ddo.publisher,
            container_checksum=container_section_checksum(meta_algorithm.container),
            service_type=service.type,
        )
        return _Algorithm(spec, facts)
    if algo.raw is None:
        raise BadRequest("algorithm: give documentId and serviceId, or meta with rawcode or url")
    if not ctx.environment.allow_raw_algorithm:
        raise Forbidden(f"algorithm: environment {ctx.environment.id} does not run raw algorithms")
    meta = algo.raw
    container = meta.container
    if meta.rawcode:
        spec = AlgorithmSpec(container=container, rawcode=meta.rawcode, **custom)
    elif meta.url:
        file = parse_file_object({"type": "url", "url": meta.url}, label="algorithm.meta.url")
        spec = AlgorithmSpec(container=container, files=(file,), **custom)
    else:
        raise BadRequest("algorithm.meta: needs rawcode or url")
    facts = AlgorithmFacts(
        raw=True, did=None, publisher=None, container_checksum=None, service_type=None
    )
    return _Algorithm(spec, facts)


def _with_trusted_checksums(spec: AlgorithmSpec, trusted: list[str | None]) -> AlgorithmSpec:
    """Pin the algorithm's files to the digests its datasets trust; configure enforces them."""
    expected = {checksum for checksum in trusted if checksum}
    if not expected:
        return spec
    if len(expected) > 1:
        raise Forbidden("algorithm: datasets trust different filesChecksum values for it")
    digests = split_files_checksum(expected.pop())
    if len(digests) != len(spec.files):
        raise Forbidden("algorithm: its files do not match the trusted filesChecksum")
    files = tuple(
        file.model_copy(update={"checksum": digest})
        for file, digest in zip(spec.files, digests, strict=True)
    )
    return spec.model_copy(update={"files": files})


# --- datasets -------------------------------------------------------------------------------


def _resolve_inputs(
    datasets: Sequence[DatasetRequest],
    algorithm: _Algorithm,
    consumer: str,
    ctx: AdmissionContext,
) -> tuple[tuple[InputSpec, ...], bool, list[str | None]]:
    """The datasets as job inputs, whether the job gets network, and the trusted algorithm files
    checksums their policies carry."""
    env = ctx.environment
    inputs: list[InputSpec] = []
    trusted: list[str | None] = []
    network = env.allow_network
    for position, dataset in enumerate(datasets):
        label = f"datasets[{position}]"
        if dataset.document_id:
            ddo = ctx.resolver.resolve(dataset.document_id)
            check_credentials(ddo, consumer, label=label)
            service = _service(ddo, dataset.service_id, label=label)
            # Raises Forbidden naming the input and the rule.
            grant = authorize_algorithm(
                ddo, service, algorithm.facts, label=label, additional=position > 0
            )
            trusted.append(grant.expected_files_checksum)
            network = network and network_allowed(service, env.allow_network)
            inputs.append(
                InputSpec(
                    folder=did_hex(ddo.id),
                    did=ddo.id,
                    service_id=service.id,
                    files=tuple(
                        with_userdata(file, dataset.userdata)
                        for file in _service_files(service, label=label, ctx=ctx, ddo=ddo)
                    ),
                    ddo=ddo.as_published(),
                    userdata=dataset.userdata,
                )
            )
        elif dataset.file_object is not None:
            if not env.allow_raw_data:
                raise Forbidden(f"{label}: environment {env.id} does not accept raw data")
            file = parse_file_object(
                dataset.file_object, label=f"{label}.fileObject", gateways=ctx.gateways
            )
            file = with_userdata(file, dataset.userdata)
            inputs.append(InputSpec(folder=str(position), files=(file,), userdata=dataset.userdata))
        else:
            raise BadRequest(f"{label}: give documentId and serviceId, or a fileObject")
    return tuple(inputs), network, trusted


def _service(ddo: Ddo, service_id: str | None, *, label: str) -> Service:
    if service_id is None:
        if not ddo.services:
            raise NotFound(f"{label}: asset {ddo.id} has no services")
        return ddo.services[0]
    try:
        return service_by_id(ddo, service_id)
    except NotFound as error:
        raise NotFound(f"{label}: {error.message}") from error


def _service_files(
    service: Service, *, label: str, ctx: AdmissionContext, ddo: Ddo | None = None
) -> tuple[FileObject, ...]:
    """The service's files to fetch; ``ddo``: a dataset's, whose files may be a result this
    provider keeps (never an algorithm's: a result is data)."""
    files = service.plain_files()
    if files is None:
        raise BadRequest(f"{label}: the service's files are encrypted and cannot be read here")
    if not files:
        raise BadRequest(f"{label}: the service lists no files")
    return tuple(
        _service_file(file, f"{label}.files[{i}]", ctx, ddo) for i, file in enumerate(files)
    )


def _service_file(
    file: dict[str, Any], label: str, ctx: AdmissionContext, ddo: Ddo | None
) -> FileObject:
    if ddo is not None and file.get("type") == KEPT_FILE_TYPE:
        if ctx.kept_inputs is None:
            raise BadRequest(f"{label}: this provider keeps no published results")
        return ctx.kept_inputs.input_file(file, ddo.nft_address, ctx.job_id, label=label)
    return parse_file_object(file, label=label, gateways=ctx.gateways)
