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

// ProjectionType is what a global secondary index copies from each item,
// beyond the table's and the index's keys (DynamoDB's ProjectionType).
type ProjectionType string

// Projection types.
const (
	// ProjectKeysOnly copies the keys alone.
	ProjectKeysOnly ProjectionType = "KEYS_ONLY"
	// ProjectInclude copies the keys and Projection.NonKeyAttributes.
	ProjectInclude ProjectionType = "INCLUDE"
	// ProjectAll copies every attribute. No index of Schema uses it: it
	// would copy password hashes, MACs and sealed codes into the index and
	// make every write of any attribute a write of the index too.
	ProjectAll ProjectionType = "ALL"
)

// Projection is what an index copies from each item.
type Projection struct {
	Type ProjectionType
	// NonKeyAttributes are the attributes copied besides the keys when
	// Type is ProjectInclude.
	NonKeyAttributes []string
}

// Index is a global secondary index.
type Index struct {
	Name       string
	Keys       KeySchema
	Projection Projection
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
		{Name: IndexGSI1, Keys: KeySchema{PartitionKey: AttrGSI1PK, SortKey: AttrGSI1SK},
			Projection: Projection{Type: ProjectInclude, NonKeyAttributes: join(UserListAttributes, TenantListAttributes)}},
		{Name: IndexGSI2, Keys: KeySchema{PartitionKey: AttrGSI2PK, SortKey: AttrGSI2SK},
			Projection: Projection{Type: ProjectInclude, NonKeyAttributes: UserListAttributes}},
		{Name: IndexGSI3, Keys: KeySchema{PartitionKey: AttrGSI3PK, SortKey: AttrGSI3SK},
			Projection: Projection{Type: ProjectInclude, NonKeyAttributes: ExpiryAttributes}},
	},
	TTLAttribute: AttrTTL,
}

// UserListAttributes are the user attributes the user list reads from GSI1
// and GSI2 (dynamo.Store.ListUsers): what latchkey.User.View shows and
// what the list's filters test (selfServe, lockedAt), the roles the one-time
// admin count filters on (GSI1), and the tenant id. Whether a PIN or a PIN
// code is set is read from when it was set (pinSetAt, pinCodeSetAt), which
// are written and removed with the MACs, so no MAC is copied. lastLoginAt
// is not here: every sign-in writes it, and the list does not show it, so
// a sign-in writes no index.
var UserListAttributes = []string{
	"tenantId", "userId", "username", "email", "mobile", "roles",
	"permissions", "profiles", "companyExceptions", "sponsorId",
	"pinCodeSetAt", "pinSetAt", "pinSetByAdmin",
	"selfServe", "lockedAt", "passwordExpiresOn", "accessedSelfServeAt",
	"emailBouncedAt", "emailComplainedAt",
}

// TenantListAttributes are the tenant attributes the list of tenants reads
// from GSI1 (dynamo.Store.ListTenants): latchkey.Tenant, whose fields have
// no dynamodbav tags. The expiry notifier reads Settings.
var TenantListAttributes = []string{"ID", "Name", "Settings", "CreatedAt"}

// ExpiryAttributes are the user attributes the expiry notifier reads from
// GSI3 (dynamo.Store.UsersExpiringOn, then expiry.Service): who the user
// is, the day, and what User.Notifiable and User.EmailSuppressed test and
// the notice is sent to.
var ExpiryAttributes = []string{
	"tenantId", "userId", "passwordExpiresOn", "selfServe", "email", "mobile",
	"emailBouncedAt", "emailComplainedAt",
}

// SecretAttributes are attributes no index may copy: the password hash,
// keyed MACs (which let anyone holding the index test guesses offline once
// the key leaks, and which are lookup keys) and sealed codes.
var SecretAttributes = []string{
	"passwordHash", "pinCodeMac", "pinCodeSealed", "pinMac", "welcomeMac",
	"linkMac", "codeMac", "challengeMac",
}

func join(lists ...[]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lists {
		for _, a := range l {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// DefaultTableName is the table name used locally when TABLE_NAME is unset.
const DefaultTableName = "latchkey"
