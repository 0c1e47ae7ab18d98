package net

// adminAPIs are the administration APIs, one line per handler file.
var adminAPIs = []api{}
