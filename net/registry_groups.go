package net

// groupAPIs are the consumer-group APIs, one line per handler file.
var groupAPIs = []api{
	findCoordinatorAPI,
	joinGroupAPI,
	syncGroupAPI,
	heartbeatAPI,
	leaveGroupAPI,
	offsetCommitAPI,
	offsetFetchAPI,
	describeGroupsAPI,
	listGroupsAPI,
	deleteGroupsAPI,
}
