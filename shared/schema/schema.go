// Package schema is the one definition of Latchkey's DynamoDB table (keys,
// indexes, TTL attribute) that both the CDK stack (infra/) and the local
// stack (cmd/latchkey-local) create, so the two cannot drift. It imports
// nothing, so the CDK app reads it without linking the AWS SDK; the storage
// code is in shared/dynamo.
package schema

// Attribute names of the table's keys and TTL.
const (
	AttrPK     = "PK"
	AttrSK     = "SK"
	AttrGSI1PK = "GSI1PK"
	AttrGSI1SK = "GSI1SK"
	AttrGSI2PK = "GSI2PK"
	AttrGSI2SK = "GSI2SK"
	AttrGSI3PK = "GSI3PK"
	AttrGSI3SK = "GSI3SK"
	// AttrTTL holds the epoch second after which DynamoDB may delete the item.
	// DynamoDB deletes only eventually, so every read checks expiry itself.
	AttrTTL = "ttl"
	// IndexGSI1 lists items of one kind per tenant (users of a tenant).
	IndexGSI1 = "GSI1"
	// IndexGSI2 lists a tenant's users of one registration status, so that
	// the user list filters by status with a Query, never a Scan.
	IndexGSI2 = "GSI2"
	// IndexGSI3 lists a tenant's users whose password expires on one day,
	// in ExpiryShards partitions per day, so that the expiry notifier reads
	// only the users due with Queries, never a Scan, and no partition is hot.
	// It is sparse: users without an expiry date are not in it.
	IndexGSI3 = "GSI3"
)

// KeySchema describes the table's keys for both CDK and the SDK.
type KeySchema struct {
	PartitionKey string
	SortKey      string
}

// Index is a global secondary index projecting all attributes.
type Index struct {
	Name string
	Keys KeySchema
}

// TableSchema is the table definition shared by the CDK stack and the local stack.
type TableSchema struct {
	Keys KeySchema
	// Indexes are global secondary indexes; every key attribute is a string.
	Indexes []Index
	// TTLAttribute is the name of the TTL attribute (epoch seconds).
	TTLAttribute string
}

// Schema is Latchkey's table.
var Schema = TableSchema{
	Keys: KeySchema{PartitionKey: AttrPK, SortKey: AttrSK},
	Indexes: []Index{
		{Name: IndexGSI1, Keys: KeySchema{PartitionKey: AttrGSI1PK, SortKey: AttrGSI1SK}},
		{Name: IndexGSI2, Keys: KeySchema{PartitionKey: AttrGSI2PK, SortKey: AttrGSI2SK}},
		{Name: IndexGSI3, Keys: KeySchema{PartitionKey: AttrGSI3PK, SortKey: AttrGSI3SK}},
	},
	TTLAttribute: AttrTTL,
}

// DefaultTableName is the table name used locally when TABLE_NAME is unset.
const DefaultTableName = "latchkey"
