package latchkey

// UserView is a user as the API shows it: never a secret.
type UserView struct {
	ID                string   `json:"id"`
	Username          string   `json:"username"`
	Email             string   `json:"email,omitempty"`
	Mobile            string   `json:"mobile,omitempty"`
	Roles             []Role   `json:"roles"`
	Permissions       []string `json:"permissions,omitempty"`
	Profiles          []string `json:"profiles,omitempty"`
	CompanyExceptions []string `json:"companyExceptions,omitempty"`
	// PINCodeUser is true when the user holds a PIN code.
	PINCodeUser bool `json:"pinCodeUser"`
	// SponsorID is the PIN-code user who created this user, if any.
	SponsorID string `json:"sponsorId,omitempty"`
	// PINSet is true when the user has a user PIN, PINSetByAdmin when an
	// admin set it; the PIN itself is never shown.
	PINSet        bool `json:"pinSet"`
	PINSetByAdmin bool `json:"pinSetByAdmin,omitempty"`
	// RegistrationStatus is not_registered, registration_complete or
	// accessed_self_serve (User.RegistrationStatus).
	RegistrationStatus string `json:"registrationStatus"`
	// SelfServe is the user's own self-serve switch; the tenant's override
	// may still turn self-service off for everybody.
	SelfServe bool `json:"selfServe"`
	// Locked is true while staff have locked the user.
	Locked bool `json:"locked"`
	// PasswordExpiresOn is the day the password expires (YYYY-MM-DD), if set.
	PasswordExpiresOn string `json:"passwordExpiresOn,omitempty"`
	// EmailStatus is "bounced" or "complained" when SES reported a
	// permanent bounce of, or a complaint about, a notice e-mail to the
	// address (notices then skip it), empty otherwise.
	EmailStatus string `json:"emailStatus,omitempty"`
}

// View returns the API view of u.
func (u *User) View() UserView {
	return UserView{
		ID: u.ID, Username: u.Username, Email: u.Email, Mobile: u.Mobile, Roles: u.Roles,
		Permissions: u.Permissions, Profiles: u.Profiles, CompanyExceptions: u.CompanyExceptions,
		// Whether a PIN code or a PIN is set is read from when it was set,
		// which is written and removed with its MAC: the user list reads
		// users from indexes that hold no MAC (schema.UserListAttributes).
		PINCodeUser: !u.PINCodeSetAt.IsZero(), SponsorID: u.SponsorID,
		PINSet: u.PINSetAt != nil, PINSetByAdmin: u.PINSetAt != nil && u.PINSetByAdmin,
		RegistrationStatus: u.RegistrationStatus(), SelfServe: u.SelfServe, Locked: u.AdminLocked(),
		PasswordExpiresOn: u.PasswordExpiresOn, EmailStatus: u.EmailStatus(),
	}
}
