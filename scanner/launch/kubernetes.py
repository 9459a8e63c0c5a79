"""Kubernetes workloads (Pod, Deployment, Job, CronJob, StatefulSet, DaemonSet, ReplicaSet) whose
containers start an agent, judged with their pod spec and the NetworkPolicies that select them."""

from __future__ import annotations

import json
import re

from scanner.launch.base import Analysis
from scanner.catalog import Catalog
from scanner.launch.cfgjudge import ConfigTools, split_words
from scanner.parse.cfgtree import Node, load_yaml_all
from scanner.launch.containers import (agent_named, agent_of_config_path, agent_of_config_var, host_kind,
                                          image_facts)
from scanner.launch.commandline import Invocation, Word
from scanner.containment.reader import network_egress
from scanner.model import Boundary, Egress, EnvMode, Fact, FactKind


def _kinds(cat: Catalog, key: str) -> tuple[str, ...]:
    """rules/config_files.yaml `kubernetes`: the workload kinds (`workloads`), those whose pods end
    (`ephemeral`)."""
    return tuple(cat.config_files.section("kubernetes").get(key) or ())


def pod_template(doc: Node) -> tuple[Node | None, Node | None, Node | None]:
    """(pod spec, pod metadata, job spec) of a workload document."""
    kind = doc.get("kind").text() if doc.get("kind") is not None else ""
    spec = doc.get("spec")
    if spec is None:
        return None, None, None
    if kind == "Pod":
        return spec, doc.get("metadata"), None
    if kind == "CronJob":
        job = spec.path("jobTemplate", "spec")
        tmpl = job.get("template") if job is not None else None
        return (tmpl.get("spec") if tmpl is not None else None), (tmpl.get("metadata") if tmpl is not None else None), job
    tmpl = spec.get("template")
    if tmpl is None:
        return None, None, None
    return tmpl.get("spec"), tmpl.get("metadata"), spec if kind == "Job" else None


def _labels(meta: Node | None) -> dict[str, str]:
    labels = meta.get("labels") if meta is not None else None
    return {k: v.text() for k, v in labels.items()} if labels is not None else {}


def _namespace(doc: Node) -> str:
    ns = doc.path("metadata", "namespace")
    return ns.text() if ns is not None else "default"


def policy_egress(src, policies: list[tuple[Node, object]], labels: dict[str, str], namespace: str):
    """Egress decided by the NetworkPolicies that select a pod, or None when none does.

    `policies` pairs each policy document with the SourceFile it came from."""
    decided: list[tuple[Egress, Fact]] = []
    for pol, pol_src in policies:
        if _namespace(pol) != namespace:
            continue
        spec = pol.get("spec")
        if spec is None:
            continue
        selector = spec.path("podSelector", "matchLabels")
        wanted = {k: v.text() for k, v in selector.items()} if selector is not None else {}
        if any(labels.get(k) != v for k, v in wanted.items()):
            continue
        types = [t.text() for t in spec.get("policyTypes").seq()] if spec.get("policyTypes") is not None else []
        egress = spec.get("egress")
        if "Egress" not in types and egress is None:
            continue
        name = pol.path("metadata", "name").text() if pol.path("metadata", "name") is not None else "a NetworkPolicy"
        anchor = pol_src.loc((egress.anchor if egress is not None else spec.anchor))
        rules = egress.seq() if egress is not None else []
        if not rules:
            decided.append((Egress.NONE, Fact(FactKind.NETWORK_NONE, f"NetworkPolicy `{name}` denies all egress", anchor)))
        elif any(r.is_map and r.get("to") is None for r in rules) or any(not r.is_map for r in rules):
            decided.append((Egress.OPEN, Fact(FactKind.NETWORK_DEFAULT, f"NetworkPolicy `{name}` allows egress to any destination", anchor)))
        else:
            decided.append((Egress.ALLOW_LIST, Fact(FactKind.EGRESS_ALLOW_LIST, f"NetworkPolicy `{name}` allows egress only to listed peers", anchor)))
    if not decided:
        return None
    order = [Egress.OPEN, Egress.ALLOW_LIST, Egress.NONE]
    return max(decided, key=lambda d: order.index(d[0]) if d[0] in order else 0)  # policies are additive: widest wins


# A manifest with a pod spec names all three; other YAML (test cassettes, CI configs, data) is
# never composed, which is most of the YAML in a large repository.
_POD_MANIFEST = tuple(re.compile(rf"""(?<![\w-])["']?{key}["']?\s*:""".encode())
                      for key in ("apiVersion", "kind", "(?:initC|c)ontainers"))
# Their literal parts: a substring test per key turns most YAML away before any regex (the
# look-behind above would otherwise be tried at every byte of every file).
_POD_WORDS = (b"apiVersion", b"kind", b"ontainers")


def analyze_kubernetes(analysis: Analysis):
    src = analysis.source
    if not all(w in src.data for w in _POD_WORDS) or not all(p.search(src.data) for p in _POD_MANIFEST):
        return
    docs = load_yaml_all(src.text, analysis.notes)
    docs = [d for d in docs if d.is_map]
    expanded: list[Node] = []
    for d in docs:
        if d.get("kind") is not None and d.get("kind").text() == "List" and d.get("items") is not None:
            expanded.extend(i for i in d.get("items").seq() if i.is_map)
        else:
            expanded.append(d)
    policies = [(d, src) for d in expanded if d.get("kind") is not None and d.get("kind").text() == "NetworkPolicy"]
    for doc in expanded:
        kind = doc.get("kind").text() if doc.get("kind") is not None else ""
        if kind not in _kinds(analysis.catalog, "workloads"):
            continue
        pod, meta, job = pod_template(doc)
        if pod is None or not pod.is_map:
            continue
        name = doc.path("metadata", "name").text() if doc.path("metadata", "name") is not None else kind
        for container in (pod.get("containers").seq() if pod.get("containers") is not None else []) + \
                (pod.get("initContainers").seq() if pod.get("initContainers") is not None else []):
            if not container.is_map:
                continue
            site = _container_site(analysis.tools, src, doc, kind, name, pod, meta, job, container, policies)
            if site is not None:
                yield site, ()


def _words(src, node: Node | None) -> list[Word]:
    if node is None:
        return []
    if node.is_seq:
        return [Word(n.text(), src.loc(n.anchor), "$(" in n.text()) for n in node.seq() if n.is_scalar]
    return split_words(node.text(), src.loc(node.anchor))


def _container_site(tools: ConfigTools, src, doc, kind, name, pod, meta, job, container, policies):
    loc = lambda n: src.loc(n.anchor)  # noqa: E731
    command, args = container.get("command"), container.get("args")
    inv = None
    for item in tools.read([*_words(src, command), *_words(src, args)]) + tools.read(_words(src, args)):
        if isinstance(item, Invocation):
            inv = item
            break
    image = container.get("image")
    if inv is None and image is not None:
        spec = tools.agent_in_image(image.text())
        if spec is not None:
            inv = Invocation(spec, Word(image.text(), loc(image)), tuple(_words(src, args)), ())
    cname = container.get("name")
    if inv is None and cname is not None:  # a container called `claude` or `codex-sandbox` runs that agent
        spec = agent_named(tools.catalog, cname.text())
        if spec is not None:
            inv = Invocation(spec, Word(cname.text(), loc(cname)), tuple(_words(src, args)), ())
    # ... or one that mounts the agent's config folder or sets its config variable.
    for items, key, agent_of in (("volumeMounts", "mountPath", agent_of_config_path), ("env", "name", agent_of_config_var)):
        for item in (container.get(items).seq() if inv is None and container.get(items) is not None else []):
            node = item.get(key) if item.is_map else None
            spec = agent_of(tools, node.text()) if node is not None else None
            if spec is not None:
                inv = Invocation(spec, Word(node.text(), loc(node)), tuple(_words(src, args)), ())
                break
    if inv is None:
        return None
    facts: list[Fact] = []
    if image is not None:
        facts.extend(image_facts(image.text(), loc(image)))
    for key in ("hostNetwork",):
        node = pod.get(key)
        if node is not None and node.truthy():
            facts.append(Fact(FactKind.NETWORK_HOST, "hostNetwork: true", loc(node)))
    for key in ("hostPID", "hostIPC"):
        node = pod.get(key)
        if node is not None and node.truthy():
            facts.append(Fact(FactKind.HOST_NAMESPACE, f"{key}: true", loc(node)))
    host_paths: dict[str, Node] = {}
    for vol in (pod.get("volumes").seq() if pod.get("volumes") is not None else []):
        path = vol.path("hostPath", "path") if vol.is_map else None
        if path is not None and vol.get("name") is not None:
            host_paths[vol.get("name").text()] = path
    for vm in (container.get("volumeMounts").seq() if container.get("volumeMounts") is not None else []):
        if not vm.is_map or vm.get("name") is None:
            continue
        path = host_paths.get(vm.get("name").text())
        if path is None:
            continue
        ro = vm.get("readOnly") is not None and vm.get("readOnly").truthy()
        hk = host_kind(tools, path.text())
        if hk == "volume" or hk == "target-part":
            hk = "host-path"
        facts.append(Fact(FactKind.mount(hk, writable=not ro), path.text(), loc(path)))
    for ctx in (pod.get("securityContext"), container.get("securityContext")):
        if ctx is None or not ctx.is_map:
            continue
        priv = ctx.get("privileged")
        if priv is not None and priv.truthy():
            facts.append(Fact(FactKind.PRIVILEGED, "privileged: true", loc(priv)))
        uid = ctx.get("runAsUser")
        if uid is not None:
            facts.append(Fact(FactKind.USER_ROOT if uid.text() == "0" else "user-nonroot", f"runAsUser: {uid.text()}", loc(uid)))
        nonroot = ctx.get("runAsNonRoot")
        if nonroot is not None and nonroot.truthy():
            facts.append(Fact(FactKind.USER_NONROOT, "runAsNonRoot: true", loc(nonroot)))
        ape = ctx.get("allowPrivilegeEscalation")
        if ape is not None and not ape.truthy():
            facts.append(Fact(FactKind.NO_NEW_PRIVILEGES, "allowPrivilegeEscalation: false", loc(ape)))
        for cap in (ctx.path("capabilities", "add").seq() if ctx.path("capabilities", "add") is not None else []):
            facts.append(Fact(FactKind.CAP_ADD, cap.text().upper().removeprefix("CAP_"), loc(cap)))
        rofs = ctx.get("readOnlyRootFilesystem")
        if rofs is not None and rofs.truthy():
            facts.append(Fact(FactKind.READ_ONLY_ROOTFS, "readOnlyRootFilesystem: true", loc(rofs)))
    if any(f.kind == FactKind.USER_ROOT for f in facts) and any(f.kind == FactKind.USER_NONROOT and f.value.startswith("runAsUser") for f in facts):
        facts = [f for f in facts if f.kind != FactKind.USER_ROOT or f.location.line > max(
            g.location.line for g in facts if g.kind == FactKind.USER_NONROOT)]
    for env in (container.get("env").seq() if container.get("env") is not None else []):
        if not env.is_map or env.get("name") is None:
            continue
        ref = env.path("valueFrom", "secretKeyRef")
        env_name = env.get("name").text()
        if ref is not None:
            key = ref.get("key").text() if ref.get("key") is not None else env_name
            fact = tools.secret_fact(env_name, loc(env.get("name")), secret_ref=key)
        else:
            fact = tools.secret_fact(env_name, loc(env.get("name"))) if env.get("value") is not None else None
        if fact is not None:
            facts.append(fact)
    for ef in (container.get("envFrom").seq() if container.get("envFrom") is not None else []):
        ref = ef.get("secretRef") if ef.is_map else None
        if ref is not None:
            sname = ref.get("name").text() if ref.get("name") is not None else "?"
            facts.append(Fact(FactKind.ENV_FILE, f"Secret {sname} (envFrom)", loc(ref)))
    automount = pod.get("automountServiceAccountToken")
    if automount is None or automount.truthy():
        anchor = loc(automount) if automount is not None else src.loc(pod.key_line or pod.line)
        facts.append(Fact(FactKind.SECRET_OPERATOR, "the service account token (automountServiceAccountToken is not false)", anchor))
    for holder in (pod, job):
        deadline = holder.get("activeDeadlineSeconds") if holder is not None else None
        if deadline is not None:
            facts.append(Fact(FactKind.TIMEOUT, f"activeDeadlineSeconds: {deadline.text()}", loc(deadline)))
            break
    limits = container.path("resources", "limits")
    if limits is not None and limits.is_map:
        facts.append(Fact(FactKind.LIMIT, "resources.limits", loc(limits)))
    if kind in _kinds(tools.catalog, "ephemeral"):
        facts.append(Fact(FactKind.EPHEMERAL, kind, loc(doc.get("kind"))))
    egress = Egress.OPEN
    if network_egress(facts) is Egress.HOST:
        egress = Egress.HOST
    else:
        decided = policy_egress(src, policies, _labels(meta), _namespace(doc))
        if decided is None:
            facts.append(Fact(FactKind.NETWORK_DEFAULT, "no NetworkPolicy in this file selects the pod", loc(container)))
            # The cross-file pass (scanner.project.links) looks for policies elsewhere in the repo.
            selector = json.dumps({"labels": _labels(meta), "namespace": _namespace(doc)}, sort_keys=True)
            facts.append(Fact(FactKind.K8S_POD_SELECTOR, selector, loc(container)))
        else:
            egress = decided[0]
            facts.append(decided[1])
    site_loc = loc(command) if command is not None else loc(image) if image is not None else loc(container)
    return tools.make_site(agent=inv.agent, location=site_loc, surface="kubernetes", launcher=f"Kubernetes {kind} `{name}`",
                     command=" ".join(w.text for w in inv.all_words), boundary=Boundary.CONTAINER,
                     tool=f"Kubernetes {kind}", env=EnvMode.MINIMAL, egress=egress, facts=facts, invocation=inv)
