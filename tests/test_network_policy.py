"""The NetworkPolicies (deploy/kubernetes/base/networkpolicy.yaml and the examples beside
it), valid strictly for Kubernetes 1.29 and 1.37, and read the way Kubernetes reads
them: which connections the model's pods may make, and which they may receive.

The evaluator below follows the networking.k8s.io/v1 API reference and the "Network
Policies" concept page: a pod is isolated in a direction only if some policy selects
it with that direction in its policyTypes (Ingress always, Egress when the policy has
egress rules, unless policyTypes is given); then a connection is allowed if any rule
of any selecting policy allows it (policies add up); within a rule the peers are
ORed, the ports ORed, and peers ANDed with ports; an absent or empty peer or port list
matches everything; an ipBlock matches its CIDR minus its `except`s; a namespaceSelector
and a podSelector in the same peer select those pods in those namespaces, a
podSelector alone the pods of the policy's own namespace. Nothing here sends a packet:
the addresses are only compared with CIDRs.
"""

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_manifests import GPT_IMAGE_1, MANIFESTS, RENDERED

EXAMPLES = MANIFESTS / "examples"
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
# Where `kubectl apply` puts a manifest without a namespace, and the model's pods with it.
NAMESPACE = "default"
NAME_LABEL = "kubernetes.io/metadata.name"  # set on every namespace since Kubernetes 1.21

Policy = dict[str, Any]


def policies_in(path: Path) -> list[Policy]:
    docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert all(doc["kind"] == "NetworkPolicy" for doc in docs), path
    return docs


# The policies as the gpt-image-1 overlay applies them, rendered by the real kustomize.
POLICIES = [doc for doc in GPT_IMAGE_1.objects if doc["kind"] == "NetworkPolicy"]
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)
    namespace_labels: Mapping[str, str] = field(default_factory=dict)

    def in_namespace_labels(self) -> Mapping[str, str]:
        return {NAME_LABEL: self.namespace, **self.namespace_labels}


@dataclass(frozen=True)
class Peer:
    """The other end of a connection: an address, and the pod it belongs to if any."""

    ip: str
    port: int
    protocol: str = "TCP"
    pod: Pod | None = None


MODEL_POD = Pod(NAMESPACE, GPT_IMAGE_1.deployment["spec"]["template"]["metadata"]["labels"])
KUBE_DNS = Pod("kube-system", {"k8s-app": "kube-dns"})
# A public address literal (of the kind api.openai.com resolves to); never contacted.
PUBLIC_V4 = "162.159.140.245"
PUBLIC_V6 = "2606:4700:4400::ac40:9b1c"


# -- Kubernetes' rules -------------------------------------------------------------


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A LabelSelector: every matchLabels pair and every matchExpressions requirement
    must hold; an empty selector selects everything."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for requirement in selector.get("matchExpressions", []):
        key, operator = requirement["key"], requirement["operator"]
        values = requirement.get("values", [])
        holds = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not holds:
            return False
    return True


def in_block(ip: str, block: Mapping[str, Any]) -> bool:
    address = ipaddress.ip_address(ip)
    # `in` is False across IP versions, as an IPv4 block never matches an IPv6 address.
    return address in ipaddress.ip_network(block["cidr"]) and not any(
        address in ipaddress.ip_network(cidr) for cidr in block.get("except", [])
    )


def peer_matches(peer: Mapping[str, Any], policy_namespace: str, other: Peer) -> bool:
    if "ipBlock" in peer:
        assert set(peer) == {"ipBlock"}, "an ipBlock peer takes no selector"
        return in_block(other.ip, peer["ipBlock"])
    if other.pod is None:  # selectors match pods only
        return False
    if "namespaceSelector" in peer:
        namespace_ok = selects(peer["namespaceSelector"], other.pod.in_namespace_labels())
    else:
        namespace_ok = other.pod.namespace == policy_namespace
    return namespace_ok and selects(peer.get("podSelector", {}), other.pod.labels)


def port_matches(ports: Iterable[Mapping[str, Any]], other: Peer) -> bool:
    for port in ports:
        if port.get("protocol", "TCP") != other.protocol:
            continue
        if "port" not in port:  # every port of that protocol
            return True
        # Named ports would need the containers' port names; no policy here uses one.
        assert isinstance(port["port"], int), f"named port {port['port']!r}"
        if port["port"] <= other.port <= port.get("endPort", port["port"]):
            return True
    return False


def policy_types(spec: Mapping[str, Any]) -> list[str]:
    if "policyTypes" in spec:
        return spec["policyTypes"]
    return ["Ingress", *(["Egress"] if spec.get("egress") else [])]


def allowed(policies: Iterable[Policy], direction: str, pod: Pod, other: Peer) -> bool:
    """Whether `pod` may connect to `other` (Egress) or `other` to `pod` (Ingress)."""
    rules_key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    isolating = [
        policy
        for policy in policies
        if policy["metadata"].get("namespace", NAMESPACE) == pod.namespace
        and selects(policy["spec"]["podSelector"], pod.labels)
        and direction in policy_types(policy["spec"])
    ]
    if not isolating:
        return True
    return any(
        (
            not rule.get(peers_key)
            or any(
                peer_matches(peer, policy["metadata"].get("namespace", NAMESPACE), other)
                for peer in rule[peers_key]
            )
        )
        and (not rule.get("ports") or port_matches(rule["ports"], other))
        for policy in isolating
        for rule in policy["spec"].get(rules_key) or []
    )


def egress(other: Peer, policies: Iterable[Policy] = POLICIES) -> bool:
    return allowed(policies, "Egress", MODEL_POD, other)


def ingress(other: Peer, policies: Iterable[Policy] = POLICIES) -> bool:
    return allowed(policies, "Ingress", MODEL_POD, other)


# -- the evaluator reads Kubernetes' own examples as Kubernetes does ----------------


def policy(spec: Mapping[str, Any]) -> Policy:
    return {"metadata": {"name": "p"}, "spec": {"podSelector": {}, **spec}}


IN_PROD = Pod("prod", {"role": "db"}, {"env": "prod"})
IN_DEV = Pod("dev", {"role": "db"}, {"env": "dev"})
OTHER_IN_PROD = Pod("prod", {"role": "web"}, {"env": "prod"})
OR_PEERS = {"to": [{"namespaceSelector": {"matchLabels": {"env": "prod"}}}, {"podSelector": {}}]}
AND_PEER = {
    "to": [
        {
            "namespaceSelector": {"matchLabels": {"env": "prod"}},
            "podSelector": {"matchLabels": {"role": "db"}},
        }
    ]
}


@pytest.mark.parametrize(
    ("policies", "other", "expected"),
    [
        # No policy selects the pod: not isolated.
        ([], Peer("10.0.0.1", 22), True),
        ([policy({"policyTypes": ["Ingress"]})], Peer("10.0.0.1", 22), True),
        # Isolated with no rule: nothing.
        ([policy({"policyTypes": ["Egress"]})], Peer(PUBLIC_V4, 443), False),
        # Without policyTypes, egress rules make it an Egress policy too.
        ([policy({"egress": [{"ports": [{"port": 443}]}]})], Peer(PUBLIC_V4, 80), False),
        # A rule without `to` or `ports` matches every destination, every port.
        ([policy({"policyTypes": ["Egress"], "egress": [{}]})], Peer("10.0.0.1", 22), True),
        # Two peers are ORed: any pod in a prod namespace, or any pod of the policy's own.
        ([policy({"egress": [OR_PEERS]})], Peer("10.1.0.1", 5432, pod=IN_PROD), True),
        ([policy({"egress": [OR_PEERS]})], Peer("10.1.0.2", 5432, pod=IN_DEV), False),
        ([policy({"egress": [OR_PEERS]})], Peer("10.1.0.3", 1, pod=Pod(NAMESPACE)), True),
        # Both selectors in one peer are ANDed.
        ([policy({"egress": [AND_PEER]})], Peer("10.1.0.1", 5432, pod=IN_PROD), True),
        ([policy({"egress": [AND_PEER]})], Peer("10.1.0.4", 5432, pod=OTHER_IN_PROD), False),
        ([policy({"egress": [AND_PEER]})], Peer("10.1.0.2", 5432, pod=IN_DEV), False),
        # Selectors never match an address outside the cluster's pods.
        ([policy({"egress": [OR_PEERS]})], Peer("10.1.0.1", 5432), False),
        # A port range, and a protocol that must match too.
        (
            [policy({"egress": [{"ports": [{"port": 32000, "endPort": 32768}]}]})],
            Peer(PUBLIC_V4, 32768),
            True,
        ),
        (
            [policy({"egress": [{"ports": [{"port": 32000, "endPort": 32768}]}]})],
            Peer(PUBLIC_V4, 32769),
            False,
        ),
        ([policy({"egress": [{"ports": [{"port": 53}]}]})], Peer(PUBLIC_V4, 53, "UDP"), False),
        # Policies add up: the second opens what the first does not.
        (
            [
                policy({"egress": [{"ports": [{"port": 443}]}]}),
                policy({"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]}),
            ],
            Peer("10.0.0.1", 22),
            True,
        ),
        # An except inside an ipBlock.
        (
            [
                policy(
                    {
                        "egress": [
                            {"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}
                        ]
                    }
                )
            ],
            Peer("10.1.2.3", 443),
            False,
        ),
    ],
)
def test_the_evaluator_reads_policies_as_kubernetes_does(
    policies: list[Policy], other: Peer, expected: bool
) -> None:
    assert egress(other, policies) is expected


def test_match_expressions_are_selectors_too() -> None:
    selector = {
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["db", "cache"]},
            {"key": "legacy", "operator": "DoesNotExist"},
        ]
    }
    assert selects(selector, {"tier": "db"})
    assert not selects(selector, {"tier": "db", "legacy": "yes"})
    assert not selects(selector, {"tier": "web"})
    assert selects({}, {"anything": "at all"})


# -- the policies themselves ---------------------------------------------------------


ALL_POLICIES = {
    **{
        f"{build}:{doc['metadata']['name']}": doc
        for build, docs in ((name, b.objects) for name, b in RENDERED.items())
        for doc in docs
        if doc["kind"] == "NetworkPolicy"
    },
    **{
        f"examples/{path.name}:{doc['metadata']['name']}": doc
        for path in EXAMPLE_FILES
        for doc in policies_in(path)
    },
}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", sorted(ALL_POLICIES))
def test_policy_is_valid_kubernetes(name: str, version: str) -> None:
    kubernetes_validate.validate(ALL_POLICIES[name], version, strict=True)


def test_the_policies_select_the_deployments_pods() -> None:
    """Each build's policies its own pods; the examples every build's."""
    for build in RENDERED.values():
        pod_labels = build.deployment["spec"]["template"]["metadata"]["labels"]
        mine = [doc for doc in build.objects if doc["kind"] == "NetworkPolicy"]
        examples = [doc for path in EXAMPLE_FILES for doc in policies_in(path)]
        assert all(selects(doc["spec"]["podSelector"], pod_labels) for doc in [*mine, *examples])
        assert {"Egress", "Ingress"} <= {kind for doc in mine for kind in policy_types(doc["spec"])}


def test_every_builds_pods_reach_the_clusters_dns() -> None:
    """kustomize adds each build's label to the matchLabels of every pod selector in
    its overlay, a peer's too: the DNS peer must still select kube-dns' own pods."""
    for build in RENDERED.values():
        policies = [doc for doc in build.objects if doc["kind"] == "NetworkPolicy"]
        pod = Pod(NAMESPACE, build.deployment["spec"]["template"]["metadata"]["labels"])
        dns = Peer("10.96.0.10", 53, "UDP", pod=KUBE_DNS)
        assert allowed(policies, "Egress", pod, dns), build.name


# Never reachable from the pods, written here from the issue and the IANA registries,
# not read from the policy: link-local (the metadata address), private, shared, "this
# network" and loopback; in IPv6 loopback, unique-local, link-local and site-local;
# every IPv4-mapped address (never a destination on the wire: IPv4 is matched as
# IPv4); and the IPv4 ranges again in NAT64's 64:ff9b::/96.
FORBIDDEN_V4 = [
    ipaddress.IPv4Network(cidr)
    for cidr in (
        "169.254.0.0/16",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "0.0.0.0/8",
    )
]
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def embedded(
    network: ipaddress.IPv4Network, prefix: ipaddress.IPv6Network
) -> ipaddress.IPv6Network:
    """An IPv4 network as IPv6 addresses in a /96 such as NAT64's."""
    start = int(prefix.network_address) + int(network.network_address)
    return ipaddress.IPv6Network((start, 96 + network.prefixlen))


FORBIDDEN = [
    *FORBIDDEN_V4,
    *(embedded(net, NAT64) for net in FORBIDDEN_V4),
    *(
        ipaddress.IPv6Network(cidr)
        for cidr in ("::1/128", "::ffff:0:0/96", "fc00::/7", "fe80::/10", "fec0::/10")
    ),
]


def forbidden(ip: str) -> bool:
    return any(ipaddress.ip_address(ip) in network for network in FORBIDDEN)


@pytest.mark.parametrize("ip", [PUBLIC_V4, PUBLIC_V6, "64:ff9b::a29f:8cf5"])  # last: NAT64
def test_public_https_is_allowed(ip: str) -> None:
    assert egress(Peer(ip, 443))


@pytest.mark.parametrize("protocol", ["UDP", "TCP"])
def test_the_clusters_dns_is_allowed(protocol: str) -> None:
    assert egress(Peer("10.244.0.5", 53, protocol, KUBE_DNS))


@pytest.mark.parametrize(
    "other",
    [
        Peer("10.244.0.6", 53, "UDP", Pod("kube-system", {"k8s-app": "metrics-server"})),
        Peer("10.244.0.7", 53, "UDP", Pod("attacker", {"k8s-app": "kube-dns"})),
        Peer("10.244.0.5", 9153, "TCP", KUBE_DNS),  # CoreDNS' metrics
        Peer("8.8.8.8", 53, "UDP"),  # DNS outside the cluster
        Peer(PUBLIC_V4, 443, "UDP"),  # QUIC
    ],
)
def test_other_dns_and_other_protocols_are_denied(other: Peer) -> None:
    assert not egress(other)


@pytest.mark.parametrize(
    ("ip", "port"),
    [
        ("169.254.169.254", 80),
        ("169.254.169.254", 443),
        ("169.254.170.2", 443),  # ECS task metadata (served on 80; the address is what counts)
        ("100.100.100.200", 443),  # Alibaba Cloud's metadata
        ("fd00:ec2::254", 443),  # AWS's IPv6 metadata
        ("::ffff:169.254.169.254", 443),
        ("64:ff9b::a9fe:a9fe", 443),
        ("10.0.0.1", 443),
        ("10.96.0.1", 443),  # a cluster's API server Service, in a usual range
        ("172.16.0.1", 443),
        ("192.168.1.1", 443),
        ("127.0.0.1", 443),
        ("fe80::1", 443),
        (PUBLIC_V4, 22),
        (PUBLIC_V4, 80),
        (PUBLIC_V6, 22),
        (PUBLIC_V4, 8443),
    ],
)
def test_metadata_private_ranges_and_other_ports_are_denied(ip: str, port: int) -> None:
    assert not egress(Peer(ip, port))


@pytest.mark.parametrize("network", FORBIDDEN, ids=str)
def test_every_forbidden_range_is_denied_to_its_edges(network: ipaddress._BaseNetwork) -> None:
    for address in (network.network_address, network.broadcast_address):
        assert not egress(Peer(str(address), 443)), address
    # The addresses just outside it are public, and allowed, unless forbidden themselves.
    edges = (int(network.network_address) - 1, int(network.broadcast_address) + 1)
    for address in (type(network.network_address)(n) for n in edges if n >= 0):
        if address.is_global and not forbidden(str(address)):
            assert egress(Peer(str(address), 443)), address


@settings(max_examples=400, derandomize=True, deadline=None)
@given(address=st.ip_addresses(), port=st.integers(1, 65535))
def test_any_address_is_allowed_exactly_when_public_and_on_443(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int
) -> None:
    assert egress(Peer(str(address), port)) is (port == 443 and not forbidden(str(address)))


@pytest.mark.parametrize("port", [5000, 9090])
def test_predictions_and_metrics_still_come_in(port: int) -> None:
    assert ingress(Peer(PUBLIC_V4, port))
    assert ingress(Peer("10.244.1.9", port, pod=Pod("monitoring", {"app": "prometheus"})))


def test_no_other_port_comes_in() -> None:
    assert not ingress(Peer("10.244.1.9", 8080, pod=Pod("elsewhere")))


# -- the examples open what they say, and only that -----------------------------------


def with_example(name: str) -> list[Policy]:
    return [*POLICIES, *policies_in(EXAMPLES / name)]


GATEWAY = Pod("litellm", {"app.kubernetes.io/name": "litellm"})
UPLOADS = Pod("uploads", {"app.kubernetes.io/name": "upload-server"})


@pytest.mark.parametrize(
    ("example", "opened", "still_closed"),
    [
        (
            "allow-gateway.yaml",
            Peer("10.244.2.3", 4000, pod=GATEWAY),
            [
                Peer("10.244.2.4", 4000, pod=Pod("default", GATEWAY.labels)),
                Peer("10.244.2.3", 4001, pod=GATEWAY),
            ],
        ),
        (
            "allow-upload.yaml",
            Peer("10.244.3.3", 8000, pod=UPLOADS),
            [Peer("10.244.3.4", 8000, pod=Pod("uploads", {"app.kubernetes.io/name": "other"}))],
        ),
        (
            "allow-webhooks.yaml",
            Peer("10.20.30.40", 8443),
            [Peer("10.20.30.41", 8443), Peer("10.20.30.40", 22)],
        ),
    ],
)
def test_an_example_opens_its_destination_and_nothing_else(
    example: str, opened: Peer, still_closed: list[Peer]
) -> None:
    assert example in {path.name for path in EXAMPLE_FILES}
    assert not egress(opened)
    policies = with_example(example)
    assert egress(opened, policies)
    for other in [*still_closed, Peer("169.254.169.254", 80), Peer(PUBLIC_V4, 22)]:
        assert not egress(other, policies), other
    assert egress(Peer(PUBLIC_V4, 443), policies)
