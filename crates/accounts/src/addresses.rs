//! Which mail addresses a user owns. An address belongs to one user at most: two people can never
//! both be shown the same mailbox through ownership.

use domain::MailAddress;

use crate::{AccountError, Accounts, UserId};

impl Accounts {
    /// Gives `address` to the user. Fails when another user owns it already.
    pub async fn add_address(&self, user_id: UserId, address: &str) -> Result<(), AccountError> {
        let address = MailAddress::parse(address)
            .map_err(|e| AccountError::InvalidAddress(e.0))?
            .to_string();
        let inserted = sqlx::query(
            "INSERT INTO user_addresses (address, user_id) VALUES ($1, $2) \
             ON CONFLICT (address) DO NOTHING",
        )
        .bind(&address)
        .bind(user_id)
        .execute(&self.db.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            let owner: Option<i64> =
                sqlx::query_scalar("SELECT user_id FROM user_addresses WHERE address = $1")
                    .bind(&address)
                    .fetch_optional(&self.db.pool)
                    .await?;
            if owner != Some(user_id) {
                return Err(AccountError::AddressTaken(address));
            }
        }
        Ok(())
    }

    /// Replaces the user's addresses with these, in one transaction: a refused one changes
    /// nothing.
    pub async fn set_addresses(
        &self,
        user_id: UserId,
        addresses: &[String],
    ) -> Result<(), AccountError> {
        let clean =
            MailAddress::parse_all(addresses).map_err(|e| AccountError::InvalidAddress(e.0))?;
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("DELETE FROM user_addresses WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for address in &clean {
            let owner: Option<i64> =
                sqlx::query_scalar("SELECT user_id FROM user_addresses WHERE address = $1")
                    .bind(address.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            if owner.is_some() {
                return Err(AccountError::AddressTaken(address.to_string()));
            }
            sqlx::query("INSERT INTO user_addresses (address, user_id) VALUES ($1, $2)")
                .bind(address.as_str())
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The user's addresses, sorted.
    pub async fn addresses(&self, user_id: UserId) -> Result<Vec<String>, AccountError> {
        Ok(sqlx::query_scalar(
            "SELECT address FROM user_addresses WHERE user_id = $1 ORDER BY address",
        )
        .bind(user_id)
        .fetch_all(&self.db.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use crate::AccountError;
    use crate::Accounts;

    testkit::each_backend!(an_address_has_one_owner);
    async fn an_address_has_one_owner(kit: &testkit::TestDb) {
        let accounts = Accounts::new(kit.db.clone());
        let alice = accounts
            .create_user("alice", "Alice", None)
            .await
            .expect("alice");
        let bob = accounts.create_user("bob", "Bob", None).await.expect("bob");
        accounts
            .add_address(alice.id, " Alice@Example.COM ")
            .await
            .expect("add");
        accounts
            .add_address(alice.id, "alice@example.com")
            .await
            .expect("adding twice is fine");
        let stolen = accounts.add_address(bob.id, "alice@example.com").await;
        assert!(matches!(stolen, Err(AccountError::AddressTaken(_))));
        assert_eq!(
            accounts.addresses(alice.id).await.expect("list"),
            vec!["alice@example.com".to_owned()]
        );
        assert!(accounts.addresses(bob.id).await.expect("list").is_empty());
    }

    testkit::each_backend!(malformed_addresses_are_refused);
    async fn malformed_addresses_are_refused(kit: &testkit::TestDb) {
        let accounts = Accounts::new(kit.db.clone());
        let alice = accounts
            .create_user("alice", "Alice", None)
            .await
            .expect("alice");
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@localhost",
            "a b@example.com",
        ] {
            let result = accounts.add_address(alice.id, bad).await;
            assert!(
                matches!(result, Err(AccountError::InvalidAddress(_))),
                "{bad}"
            );
        }
    }
}
