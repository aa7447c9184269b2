// The tiers the graph is laid out in, top to bottom: business service -> application ->
// software -> host -> network; what fits none (locations, accounts) goes last.
const TIER_OF = {
  business_service: 0,
  application: 1,
  software_instance: 2, software_package: 2, database: 2, queue: 2, function: 2, container_service: 2, bucket: 2,
  host: 3, virtual_machine: 3, physical_server: 3, cloud_instance: 3, cluster: 3, device: 3, filesystem: 3, volume: 3,
  network_device: 4, switch: 4, router: 4, firewall: 4, load_balancer: 4, gateway: 4, interface: 4,
  cloud_interface: 4, ip_address: 4, subnet: 4, vpc: 4, network: 4, dns_record: 4, dns_zone: 4, route_table: 4,
  security_group: 4,
};
export const TIER_NAMES = ["business service", "application", "software", "host", "network", "other"];
export const TIER_COLOURS = ["#6a3d9a", "#1f78b4", "#33a02c", "#ff7f00", "#a6761d", "#888888"];

export function className(ciClass) {
  return String(ciClass || "").toLowerCase();
}

export function tierOf(ciClass) {
  const tier = TIER_OF[className(ciClass)];
  return tier === undefined ? 5 : tier;
}
