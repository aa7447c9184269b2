"""Acme's service map: what the business calls its services, declared (not discovered).

Discovery finds servers, processes and connections; which of them make up "the
shop" is knowledge people declare. The demo declares it as the ``manual``
source would, so impact questions roll up to a business service and its owner.
"""

from __future__ import annotations

from cmdb.observation import CIRef, Evidence, Item, Method, Observation, ObservedRelation

SOURCE, SCOPE = "manual", "acme-services"


def service_map(instances: dict[str, str]) -> list[Item]:
    """Acme Shop (business service) -> shop (application) -> nginx on web1, java on app1."""
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
        process = CIRef(ci_class="software_instance", identifiers={"product": product, "port": port},
                        parent=CIRef(ci_class="host", identifiers={"instance_id": instances[host]}))
        items.append(ObservedRelation(source=SOURCE, scope=SCOPE, type="DEPENDS_ON", from_ci=app, to_ci=process,
                                      evidence=Evidence(method=Method.DECLARED)))
    return items
