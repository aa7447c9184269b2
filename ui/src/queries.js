// Every GraphQL document the interface sends (the public API, nothing else).
export const ME = "{ me { name role canEdit canAdmin } }";

export const CLASSES = '{ __type(name: "CIClassName") { enumValues { name } } }';

export const SEARCH = `query Search($filter: CIFilter, $after: String) {
  cis(filter: $filter, first: 50, after: $after) {
    edges { node { uid ciClass name lifecycle owner environment } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const CI_PAGE = `query Ci($uid: ID!) {
  ci(uid: $uid) {
    uid ciClass name lifecycle createdAt updatedAt attributes parentUid duplicateOf
    neighbours(first: 500) {
      direction otherUid
      relationship { uid type sourceUid targetUid lifecycle attributes
        evidence { sources firstSeen lastSeen timesSeen method confidence } }
      ci { uid name ciClass }
    }
  }
  history(uid: $uid, last: 200) { seq action changes source runId at }
}`;

const EVIDENCE = "evidence { sources firstSeen lastSeen timesSeen method confidence }";

export const TOPOLOGY = `query Topology($root: ID!, $depth: Int!) {
  topology(root: $root, depth: $depth, maxNodes: 500) {
    root truncated
    nodes { depth ci { uid name ciClass } }
    edges { uid type sourceUid targetUid ${EVIDENCE} }
  }
}`;

const STEP = "uid name ciClass relType relSource relTarget";

// The size bounds are literals, not variables: the server costs a query before it sees its
// variables, so a variable maxNodes is costed at its ceiling (graph_api/document_cost.py).
const bound = (value, low, high) => Math.min(high, Math.max(low, Math.trunc(Number(value)) || low));

export const IMPACT = (maxDepth, maxNodes) => `query Impact($uids: [ID!]!) {
  impact(uids: $uids, maxDepth: ${bound(maxDepth, 0, 10)}, maxNodes: ${bound(maxNodes, 1, 50000)}) {
    impacted { uid ciClass name grade depth explanation path { ${STEP} } }
    services { uid name ciClass grade owner }
    owners truncated truncatedBy
  }
}`;

export const CI_HEAD = "query Head($uid: ID!) { ci(uid: $uid) { uid name ciClass } }";

export const DEPENDENCIES = (maxDepth, maxNodes) => `query Deps($uid: ID!) {
  ci(uid: $uid) { uid name ciClass }
  dependencies(uid: $uid, maxDepth: ${bound(maxDepth, 0, 10)}, maxNodes: ${bound(maxNodes, 1, 50000)}) {
    dependencies { uid ciClass name depth redundant path { ${STEP} } }
    truncated truncatedBy
  }
}`;

export const SPOF = `query Spof($uid: ID!) {
  singlePointsOfFailure(service: $uid) { spofs { uid name ciClass depth } considered truncated }
}`;

export const PATHS = `query Paths($source: ID!, $target: ID!) {
  paths(source: $source, target: $target, maxPaths: 10) {
    shortest { ${STEP} } paths { ${STEP} } truncated
  }
}`;

export const CHANGES = `query Changes($after: String) {
  changes(first: 50, after: $after) {
    edges { node { uid title action state requester cis window { start end } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const PLAN = `changeUid computedAt truncated owners
  impacted { uid name ciClass grade depth explanation margin }
  services { uid name ciClass grade owner criticality }
  conflicts { changeUid title state window { start end } sharedCis sharedServices }
  findings { kind windowUid label window { start end } subjects }
  risk { score level multiplier factors { name value points detail } }`;

export const CHANGE = `query Change($uid: ID!) {
  change(uid: $uid) { uid title cis action state outcome requester description createdAt updatedAt window { start end } }
  changePlan(uid: $uid) { ${PLAN} }
}`;

const GRADE_CHANGE = "uid name before after";
const EDGE_CHANGE = "uid type sourceName targetName before after";

export const DRIFT = `query Drift($uid: ID!) {
  changeDrift(uid: $uid) {
    approvedAt computedAt drifted riskBefore riskAfter levelBefore levelAfter ownersAdded ownersRemoved
    conflictsAdded conflictsRemoved
    relationshipsAdded { ${EDGE_CHANGE} } relationshipsRemoved { ${EDGE_CHANGE} } relationshipsChanged { ${EDGE_CHANGE} }
    ciChanges { uid name attribute before after }
    impactedAdded { ${GRADE_CHANGE} } impactedRemoved { ${GRADE_CHANGE} } gradeChanges { ${GRADE_CHANGE} }
    servicesAdded { ${GRADE_CHANGE} } servicesRemoved { ${GRADE_CHANGE} }
  }
}`;

const ERR = "... on NotFoundError { message } ... on ValidationError { message } ... on InvalidTransitionError { message } ... on NotConfiguredError { message }";

export const CREATE_CHANGE = `mutation Create($input: CreateChangeInput!) {
  createChange(input: $input) { __typename ... on Change { uid } ${ERR} }
}`;

export const PLAN_CHANGE = `mutation Plan($uid: ID!) { planChange(uid: $uid) { __typename ... on ChangePlan { changeUid } ${ERR} } }`;
export const APPROVE_CHANGE = `mutation Approve($uid: ID!) { approveChange(uid: $uid) { __typename ... on ChangeSnapshot { changeUid } ${ERR} } }`;
export const CANCEL_CHANGE = `mutation Cancel($uid: ID!) { cancelChange(uid: $uid) { __typename ... on Change { uid } ${ERR} } }`;

// The overview: every CI with its outgoing relationships, a page at a time (200 x 100 keeps
// the query under the server's default cost limit).
export const OVERVIEW_OUT_CAP = 100;
export const OVERVIEW = `query Overview($after: String) {
  cis(first: 200, after: $after) {
    edges { node { uid name ciClass neighbours(direction: OUT, first: 100) { otherUid relationship { uid type } } } }
    pageInfo { hasNextPage endCursor }
  }
}`;
