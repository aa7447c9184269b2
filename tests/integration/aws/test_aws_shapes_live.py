"""The item-6 shapes moto's server can produce, collected through the scanner's own calls and
transformed: exact sets of the edges and rule attributes they give.

Security-group rules with IPv6 ranges and a managed prefix list, an NLB target group of
type ``alb`` and one of type ``ip``, an Aurora cluster with a writer and a reader, a VPC
peering, a transit gateway attachment and a subnet on its VPC's main route table. (What
moto cannot produce is in tests/unit/discovery/aws/test_aws_shapes.py.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cmdb.ingest import Ingestor
from cmdb.model import RunStatus
from cmdb.observation import Observation, ObservedRelation
from cmdb.store.sqlite import SQLiteStore
from discovery.aws.client import AwsCaller, ClientSettings, Credentials, collect_region, make_session
from discovery.aws.transform import region_scope, transform_region
from discovery.base import ScopeResult
from discovery.runner import ingest_scope
from schema import load_schema
from tests.integration.aws.aws_estate import _drop_default_vpc, account_session, reset_moto

ACCOUNT, REGION = "555555555555", "us-east-1"


def build(endpoint: str) -> dict[str, Any]:
    session = account_session(endpoint, ACCOUNT)
    ec2 = session.client("ec2", endpoint_url=endpoint, region_name=REGION)
    _drop_default_vpc(ec2)
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    peer = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.8.{i}.0/24", AvailabilityZone=f"{REGION}{az}")
               ["Subnet"]["SubnetId"] for i, az in enumerate("ab")]
    main = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"][0]["RouteTableId"]
    own = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=own, SubnetId=subnets[0])
    prefix_list = ec2.create_managed_prefix_list(PrefixListName="corp-offices", MaxEntries=5, AddressFamily="IPv4",
                                                 Entries=[{"Cidr": "192.0.2.0/24"}])["PrefixList"]["PrefixListId"]
    group = ec2.create_security_group(GroupName="edge", Description="edge", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32"}],
        "PrefixListIds": [{"PrefixListId": prefix_list}]}])
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                                 SubnetId=subnets[1])["Instances"][0]
    pcx = ec2.create_vpc_peering_connection(VpcId=vpc, PeerVpcId=peer)["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    tgw = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    ec2.create_transit_gateway_vpc_attachment(TransitGatewayId=tgw, VpcId=vpc, SubnetIds=[subnets[0]])

    elb = session.client("elbv2", endpoint_url=endpoint, region_name=REGION)
    alb = elb.create_load_balancer(Name="web", Subnets=subnets, Type="application")["LoadBalancers"][0]
    nlb = elb.create_load_balancer(Name="edge", Subnets=subnets, Type="network")["LoadBalancers"][0]
    to_alb = elb.create_target_group(Name="to-alb", Protocol="TCP", Port=80, VpcId=vpc,
                                     TargetType="alb")["TargetGroups"][0]["TargetGroupArn"]
    by_ip = elb.create_target_group(Name="by-ip", Protocol="TCP", Port=8080, VpcId=vpc,
                                    TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=to_alb, Targets=[{"Id": alb["LoadBalancerArn"], "Port": 80}])
    elb.register_targets(TargetGroupArn=by_ip, Targets=[{"Id": instance["PrivateIpAddress"], "Port": 8080}])
    elb.create_listener(LoadBalancerArn=nlb["LoadBalancerArn"], Protocol="TCP", Port=80,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": to_alb}])

    rds = session.client("rds", endpoint_url=endpoint, region_name=REGION)
    cluster = rds.create_db_cluster(DBClusterIdentifier="orders", Engine="aurora-postgresql", MasterUsername="app",
                                    MasterUserPassword="not-a-secret-1")["DBCluster"]["DBClusterArn"]
    dbs = [rds.create_db_instance(DBInstanceIdentifier=f"orders-{i}", DBClusterIdentifier="orders",
                                  Engine="aurora-postgresql", DBInstanceClass="db.r5.large")["DBInstance"]
           ["DBInstanceArn"] for i in (1, 2)]
    return {"vpc": vpc, "peer": peer, "subnets": subnets, "main": main, "own": own, "group": group,
            "prefix_list": prefix_list, "instance": instance["InstanceId"], "pcx": pcx, "tgw": tgw,
            "alb": alb["LoadBalancerArn"], "nlb": nlb["LoadBalancerArn"], "to_alb": to_alb, "by_ip": by_ip,
            "cluster": cluster, "dbs": dbs}


def test_item_6_shapes_from_moto(moto_endpoint: str, tmp_path: Path) -> None:
    reset_moto(moto_endpoint)
    e = build(moto_endpoint)
    creds = account_session(moto_endpoint, ACCOUNT).get_credentials()
    caller = AwsCaller(make_session(Credentials(creds.access_key, creds.secret_key, creds.token)), REGION,
                       ClientSettings(endpoint_url=moto_endpoint, max_attempts=1))
    collect_region(caller)
    assert caller.errors == []
    problems: list[str] = []
    items, _ = transform_region(caller.payload, ACCOUNT, REGION, 1_700_000_000_000, None, problems)
    assert problems == []
    rels = {(i.type, *(str(next(iter(r.identifiers.values()))) for r in (i.from_ci, i.to_ci)),
             tuple(sorted(i.attributes.items()))) for i in items if isinstance(i, ObservedRelation)}

    def edges(kind: str, *ends: str) -> set[tuple[Any, ...]]:
        return {r for r in rels if r[0] == kind and (r[1] in ends or r[2] in ends)}

    assert edges("USES", *e["subnets"]) == {
        ("USES", e["subnets"][0], e["own"], ()), ("USES", e["subnets"][1], e["main"], (("implicit", True),))}
    assert edges("ROUTES_TO", e["to_alb"], e["by_ip"]) == {
        ("ROUTES_TO", e["nlb"], e["to_alb"], ()), ("ROUTES_TO", e["to_alb"], e["alb"], (("port", 80),)),
        ("ROUTES_TO", e["by_ip"], e["instance"], (("port", 8080),))}
    assert edges("HAS_MEMBER", e["cluster"]) == {
        ("HAS_MEMBER", e["cluster"], e["dbs"][0], (("role", "writer"),)),
        ("HAS_MEMBER", e["cluster"], e["dbs"][1], (("role", "reader"),))}
    # both VPCs are this account's: the peering joins them; the transit gateway its attached one
    assert edges("IN_NETWORK", e["pcx"], e["tgw"]) == {
        ("IN_NETWORK", e["pcx"], e["vpc"], ()), ("IN_NETWORK", e["pcx"], e["peer"], ()),
        ("IN_NETWORK", e["tgw"], e["vpc"], (("attachment_id", _attachment(caller.payload)),))}
    [edge_group] = [i for i in items if isinstance(i, Observation) and i.identifiers.get("group_id") == e["group"]]
    assert edge_group.attributes["rules"]["ingress"] == [
        {"ports": "tcp/443-443", "cidrs": ["2001:db8::/32"], "groups": [],
         "prefix_lists": [f"{e['prefix_list']} (corp-offices)"]}]
    # and the catalog takes all of it: nothing rejected on ingest
    store = SQLiteStore(tmp_path / "cmdb.db")
    try:
        run, report = ingest_scope(Ingestor(store, load_schema()), "aws",
                                   ScopeResult(region_scope(ACCOUNT, REGION), items, complete=True))
        assert (run.status, run.errors, report.rejected) == (RunStatus.COMPLETE, [], [])
    finally:
        store.close()


def _attachment(payload: dict[str, Any]) -> str:
    [attachment] = [a for page in payload["ec2.describe_transit_gateway_attachments"]
                    for a in page["TransitGatewayAttachments"]]
    return str(attachment["TransitGatewayAttachmentId"])
