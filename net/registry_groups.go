package net

// groupAPIs are the consumer-group APIs, one line per handler file.
var groupAPIs = []api{}
