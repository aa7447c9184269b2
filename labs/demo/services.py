"""Acme's service map: what the business calls its services, declared (not discovered).

Discovery finds servers, processes and connections; which of them make up "the
shop" is knowledge people declare. The demo declares it as the ``manual``
source would, so impact questions roll up to a business service and its owner.
"""

from __future__ import annotations

from cmdb.observation import CIRef, Evidence, Item, Method, Observation, ObservedRelation

SOURCE, SCOPE = "manual", "acme-services"


def service_map(instances: dict[str, str], with_processes: bool = True) -> list[Item]:
    """Acme Shop (business service) -> shop (application) -> nginx on web1 and java on app1.

    Without the SSH hosts (``with_processes`` False) nobody has seen those
    processes, so the application depends on the two servers themselves.
    """
    shop = CIRef(ci_class="business_service", identifiers={"name": "Acme Shop"})
    app = CIRef(ci_class="application", identifiers={"name": "shop"})
    items: list[Item] = [
        Observation(source=SOURCE, scope=SCOPE, ci_class="business_service", identifiers={"name": "Acme Shop"},
                    attributes={"owner": "shop-team@acme.example", "criticality": "high"}),
        Observation(source=SOURCE, scope=SCOPE, ci_class="application", identifiers={"name": "shop"},
                    attributes={"owner": "shop-team@acme.example"}),
        ObservedRelation(source=SOURCE, scope=SCOPE, type="DEPENDS_ON", from_ci=shop, to_ci=app,
                         evidence=Evidence(method=Method.DECLARED)),
    ]
    for host, product, port in (("web1", "nginx", 80), ("app1", "java", 8080)):
        if host not in instances:
            continue
        server = CIRef(ci_class="host", identifiers={"instance_id": instances[host]})
        target = CIRef(ci_class="software_instance", identifiers={"product": product, "port": port},
                       parent=server) if with_processes else server
        items.append(ObservedRelation(source=SOURCE, scope=SCOPE, type="DEPENDS_ON", from_ci=app, to_ci=target,
                                      evidence=Evidence(method=Method.DECLARED)))
    return items
