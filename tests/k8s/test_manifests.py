"""Offline checks of everything under k8s/: lint, schemas, rendering, wiring.

No cluster and no kubectl: yamllint, kubernetes-validate (strict schemas of
the built-in kinds), the DaskCluster CRD schema shipped in the
dask-kubernetes wheel (closed against unknown fields), and a small renderer
for the subset of kustomize the overlays use.
"""

from __future__ import annotations

import copy
import importlib.resources
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
OVERLAYS = sorted(p.parent for p in K8S.glob("overlays/*/kustomization.yaml"))
# The oldest Kubernetes the operator still supports, and a recent one.
K8S_VERSIONS = ("1.30", "1.34")
DASK_API = "kubernetes.dask.org/v1"
IMAGE = "ghcr.io/example/pivot-worker"
YAMLLINT_CONFIG = "{extends: default, rules: {line-length: disable, document-start: disable}}"

Doc = dict[str, Any]


def load_docs(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def manifests() -> Iterator[tuple[Path, Doc]]:
    """Every Kubernetes object in k8s/ (kustomizations and patches excluded)."""
    for path in sorted(K8S.rglob("*.yaml")):
        for doc in load_docs(path):
            # Overlay files are patches, not objects.
            is_object = (
                isinstance(doc, dict) and doc.get("kind", "Kustomization") != "Kustomization"
            )
            if is_object and path.parent.parent.name != "overlays":
                yield path, doc


# ---------------------------------------------------------------- validation


def validate_builtin(doc: Doc) -> None:
    for version in K8S_VERSIONS:
        kubernetes_validate.validate(doc, version, strict=True)


@cache
def daskcluster_schema() -> Doc:
    # The CRD as the operator's Helm chart installs it (fully expanded).
    crd_path = "operator/deployment/helm/dask-kubernetes-operator/crds/daskcluster.yaml"
    crd = yaml.safe_load(
        importlib.resources.files("dask_kubernetes").joinpath(crd_path).read_text()
    )
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema = close_schema(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
    # The API server adds these to every custom resource.
    schema["properties"]["apiVersion"] = {"const": DASK_API}
    schema["properties"]["kind"] = {"const": "DaskCluster"}
    schema["properties"]["metadata"] = {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string"},
            "namespace": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
    schema["required"] = ["apiVersion", "kind", "metadata", "spec"]
    return schema


def close_schema(node: Doc) -> Doc:
    """Reject unknown fields wherever the CRD lists the known ones, as the API
    server's pruning would silently drop them (a typo then does nothing)."""
    if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        node.setdefault("additionalProperties", False)
    for child in node.get("properties", {}).values():
        close_schema(child)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            close_schema(node[key])
    for key in ("allOf", "anyOf", "oneOf"):
        for child in node.get(key, []):
            close_schema(child)
    return node


def validate_daskcluster(doc: Doc) -> None:
    jsonschema.Draft7Validator(daskcluster_schema()).validate(doc)
    # The CRD carries a trimmed copy of the Pod and Service schemas: check the
    # embedded specs against the full built-in ones as well.
    meta = {"name": doc["metadata"]["name"]}
    for role in ("worker", "scheduler"):
        validate_builtin(
            {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": doc["spec"][role]["spec"]}
        )
    service = doc["spec"]["scheduler"].get("service")
    if service is not None:
        validate_builtin({"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": service})


def validate(doc: Doc) -> None:
    if doc["apiVersion"] == DASK_API:
        validate_daskcluster(doc)
    else:
        validate_builtin(doc)


# ---------------------------------------------------------------- rendering

SUPPORTED_KUSTOMIZE_KEYS = {"apiVersion", "kind", "namespace", "resources", "images", "patches"}
CLUSTER_SCOPED = {"Namespace"}


def render(directory: Path) -> list[Doc]:
    """`kustomize build` for the features k8s/ uses; anything else fails."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unsupported = set(kustomization) - SUPPORTED_KUSTOMIZE_KEYS
    assert not unsupported, f"{directory}: teach render() about {unsupported}"
    docs: list[Doc] = []
    for entry in kustomization.get("resources", []):
        target = directory / entry
        assert target.exists(), f"{directory}/kustomization.yaml: missing resource {entry}"
        docs += render(target) if target.is_dir() else load_docs(target)
    for patch in kustomization.get("patches", []):
        apply_patch(docs, directory / patch["path"], patch.get("target", {}))
    for image in kustomization.get("images", []):
        set_image(docs, image)
    if "namespace" in kustomization:
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = kustomization["namespace"]
    return docs


def find(docs: list[Doc], kind: str, name: str | None = None) -> Doc:
    hits = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert len(hits) == 1, f"expected one {kind} {name or ''}, found {len(hits)}"
    return hits[0]


def apply_patch(docs: list[Doc], path: Path, target: Doc) -> None:
    assert path.exists(), f"missing patch {path}"
    patch = yaml.safe_load(path.read_text())
    if isinstance(patch, list):  # JSON 6902
        assert target, f"{path}: a JSON 6902 patch needs a target"
        doc = find(docs, target["kind"], target.get("name"))
        assert doc["apiVersion"] == f"{target['group']}/{target['version']}".lstrip("/")
        for op in patch:
            json6902(doc, op)
    else:  # strategic merge, maps only (list merge keys are not modelled)
        merge(find(docs, patch["kind"], patch["metadata"]["name"]), patch, str(path))


def json6902(doc: Doc, op: Doc) -> None:
    *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if op["op"] in ("replace", "remove"):
        assert key in node if isinstance(node, dict) else key < len(node), f"no {op['path']}"
    if op["op"] == "remove":
        del node[key]
    elif op["op"] in ("add", "replace"):
        node[key] = copy.deepcopy(op["value"])
    else:
        raise AssertionError(f"unsupported JSON patch op {op['op']}")


def merge(into: Doc, patch: Doc, where: str) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value, where)
        else:
            assert not (isinstance(value, list) and any(isinstance(v, dict) for v in value)), (
                f"{where}: lists of objects need a JSON 6902 patch here"
            )
            into[key] = copy.deepcopy(value)


def set_image(docs: list[Doc], spec: Doc) -> None:
    """Like kustomize: every container and initContainer, anywhere."""
    for container in containers(docs):
        name, _, tag = container["image"].rpartition(":")
        if name == spec["name"]:
            container["image"] = f"{spec.get('newName', name)}:{spec.get('newTag', tag)}"


def containers(node: Any) -> Iterator[Doc]:
    if isinstance(node, list):
        for item in node:
            yield from containers(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                yield from value
            else:
                yield from containers(value)


def targets() -> list[Path]:
    return [K8S / "base", *OVERLAYS]


# ---------------------------------------------------------------- tests


def test_yamllint() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "yamllint",
            "--strict",
            "-d",
            YAMLLINT_CONFIG,
            str(K8S),
            str(REPO / "cluster/dask.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_bites(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: ConfigMap\nkind: Secret\n")
    result = subprocess.run(
        [sys.executable, "-m", "yamllint", "--strict", "-d", YAMLLINT_CONFIG, str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0 and "duplication" in result.stdout


def test_there_is_something_to_check() -> None:
    kinds = {doc["kind"] for _, doc in manifests()}
    assert {"DaskCluster", "ConfigMap", "Job", "Secret", "Namespace"} <= kinds
    assert OVERLAYS, "expected at least one overlay"


@pytest.mark.parametrize(
    "doc",
    [doc for _, doc in manifests()],
    ids=[f"{p.relative_to(K8S)}:{d['kind']}" for p, d in manifests()],
)
def test_every_manifest_validates(doc: Doc) -> None:
    validate(doc)


@pytest.mark.parametrize("directory", targets(), ids=lambda p: str(p.relative_to(K8S)))
def test_rendered_kustomization_validates(directory: Path) -> None:
    docs = render(directory)
    for doc in docs:
        validate(doc)
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {"pivot"}


@pytest.mark.parametrize("directory", targets(), ids=lambda p: str(p.relative_to(K8S)))
def test_wiring(directory: Path) -> None:
    """Names, keys and addresses that only agree by convention."""
    docs = render(directory)
    cluster = find(docs, "DaskCluster")
    config = find(docs, "ConfigMap", "pivot-config")["data"]
    (secret,) = [d for _, d in manifests() if d["kind"] == "Secret"]
    namespace = cluster["metadata"]["namespace"]
    address = f"tcp://{cluster['metadata']['name']}-scheduler.{namespace}.svc.cluster.local:8786"
    assert config["PIVOT_CLUSTER"] == address
    pivot_config = yaml.safe_load(config["config.yaml"])
    assert pivot_config["cluster"]["address"] == address
    assert pivot_config["cache"]["dir"].startswith("s3://")
    assert secret["metadata"]["namespace"] == namespace

    for ref in key_refs(docs):
        if "secretKeyRef" in ref:
            selector, name, keys = ref["secretKeyRef"], "pivot-s3", secret["stringData"]
        else:
            selector, name, keys = ref["configMapKeyRef"], "pivot-config", config
        assert selector["name"] == name
        assert selector["key"] in keys or selector.get("optional"), f"missing key {selector}"

    images = {c["image"] for c in containers(docs)}
    assert len(images) == 1 and images.pop().startswith(f"{IMAGE}:")
    worker_args = cluster["spec"]["worker"]["spec"]["containers"][0]["args"]
    assert worker_args[:2] == ["dask", "worker"]
    assert worker_args[worker_args.index("--nthreads") + 1] == "1"

    job = find(docs, "Job")["spec"]["template"]["spec"]
    (repro,) = job["containers"]
    run = 'pivot repro --all --cluster "$PIVOT_CLUSTER" && pivot verify'
    assert run in repro["args"]
    assert "git clone" in job["initContainers"][0]["args"][0]


def key_refs(docs: list[Doc]) -> Iterator[Doc]:
    for container in containers(docs):
        for env in container.get("env", []):
            if "valueFrom" in env:
                yield env["valueFrom"]


def test_overlay_changes_what_it_says() -> None:
    dev = render(K8S / "overlays/dev")
    worker = find(dev, "DaskCluster")["spec"]["worker"]
    assert worker["replicas"] == 1
    assert worker["spec"]["containers"][0]["resources"]["limits"]["memory"] == "1Gi"
    assert {c["image"] for c in containers(dev)} == {f"{IMAGE}:0.1.0-dev"}
    config = find(dev, "ConfigMap")["data"]
    assert config["AWS_ENDPOINT_URL_S3"].startswith("http://")
    assert config["GIT_REPO"] == find(render(K8S / "base"), "ConfigMap")["data"]["GIT_REPO"]


# ---------------------------------------------------------------- the checks bite


def base_doc(kind: str) -> Doc:
    return copy.deepcopy(find(render(K8S / "base"), kind))


def test_misspelled_daskcluster_field_fails() -> None:
    doc = base_doc("DaskCluster")
    doc["spec"]["worker"]["replicaz"] = doc["spec"]["worker"].pop("replicas")
    with pytest.raises(jsonschema.ValidationError, match="replicaz"):
        validate(doc)


def test_misspelled_field_deep_in_daskcluster_pod_fails() -> None:
    doc = base_doc("DaskCluster")
    doc["spec"]["scheduler"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(jsonschema.ValidationError, match="imagePullPolicyy"):
        validate(doc)


def test_wrong_type_in_daskcluster_fails() -> None:
    doc = base_doc("DaskCluster")
    doc["spec"]["worker"]["replicas"] = "two"
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_misspelled_job_field_fails() -> None:
    doc = base_doc("Job")
    doc["spec"]["backofLimit"] = doc["spec"].pop("backoffLimit")
    with pytest.raises(jsonschema.ValidationError, match="backofLimit"):
        validate(doc)


def test_misspelled_field_in_job_container_fails() -> None:
    doc = base_doc("Job")
    doc["spec"]["template"]["spec"]["containers"][0]["workdir"] = "/work"
    with pytest.raises(jsonschema.ValidationError, match="workdir"):
        validate(doc)


def test_patch_of_a_missing_path_fails(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "resources": [str(K8S / "base")],
                "patches": [
                    {
                        "path": "p.yaml",
                        "target": {
                            "group": "kubernetes.dask.org",
                            "version": "v1",
                            "kind": "DaskCluster",
                        },
                    }
                ],
            }
        )
    )
    (tmp_path / "p.yaml").write_text("- {op: replace, path: /spec/worker/replicaz, value: 3}\n")
    with pytest.raises(AssertionError, match="replicaz"):
        render(tmp_path)
