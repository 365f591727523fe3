//! Where the demo's data lives: the application's `database:` pool, or, for a configuration
//! without one, a SQLite database in memory with the same schema (and no demo data).

use std::sync::Arc;

use beginnings::Request;
use beginnings::builtin::sqlx;
use beginnings::builtin::{Database, DatabaseError};
use beginnings::config::{DatabaseConfig, DatabaseUrl};
use tokio::sync::OnceCell;

/// The schema, also in `config/migrations/`, where the configured database takes it from.
const SCHEMA: &str = include_str!("../../../config/migrations/0001_users_and_posts.sql");

#[derive(Clone, Default)]
pub struct Store {
    in_memory: Arc<OnceCell<Database>>,
}

impl Store {
    /// The pool of the request's application, or the in-memory one.
    pub async fn database(&self, request: &Request) -> Result<Database, DatabaseError> {
        if let Some(database) = Database::of(request) {
            return Ok(database);
        }
        self.in_memory
            .get_or_try_init(|| async {
                let database = Database::new(DatabaseConfig::new(DatabaseUrl::SqliteMemory));
                let pool = database.pool().await?;
                sqlx::raw_sql(SCHEMA).execute(pool).await?;
                tracing::info!("no `database:` configured: the demo keeps its data in memory");
                Ok::<_, DatabaseError>(database)
            })
            .await
            .cloned()
    }
}
