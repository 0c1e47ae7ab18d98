package net

// AdminCluster is what the administration handlers ask of the broker
// (DeleteTopics, CreatePartitions, DeleteRecords, DescribeConfigs,
// AlterConfigs, IncrementalAlterConfigs, DescribeCluster).
type AdminCluster interface {
}
