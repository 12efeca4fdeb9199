//! The demo set-up behind `serve --demo`: accounts a newcomer can sign in with right away.
//! Created only in an empty database, so a real installation is never touched.

use accounts::Accounts;

pub struct DemoAccount {
    pub username: &'static str,
    pub display_name: &'static str,
    pub password: &'static str,
    pub is_admin: bool,
}

pub const DEMO_ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        username: "alex",
        display_name: "Alex Morgan",
        password: "demo-password",
        is_admin: false,
    },
    DemoAccount {
        username: "admin",
        display_name: "Archive Administrator",
        password: "admin-password",
        is_admin: true,
    },
];

/// Creates the demo accounts when there are no users yet. Returns whether it did.
pub async fn seed(accounts: &Accounts) -> anyhow::Result<bool> {
    if !accounts.list_users().await?.is_empty() {
        return Ok(false);
    }
    for account in DEMO_ACCOUNTS {
        accounts
            .create_user(
                account.username,
                account.display_name,
                Some(account.password),
                account.is_admin,
            )
            .await?;
    }
    Ok(true)
}
