package net

// adminAPIs are the administration APIs, one line per handler file.
var adminAPIs = []api{
	deleteTopicsAPI,
	deleteRecordsAPI,
	describeConfigsAPI,
	alterConfigsAPI,
	createPartitionsAPI,
	incrementalAlterConfigsAPI,
	describeClusterAPI,
}
