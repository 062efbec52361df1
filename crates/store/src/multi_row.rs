//! Appending a batch of rows to a table with multi-row `INSERT … VALUES` statements, one
//! parameter per value: the telemetry writers' (audit trail, analytics) way to store a
//! batch in one transaction at a few microseconds of CPU per row.
//!
//! Measured with `examples/analytics_cost.rs` (SQLite, 200 000 rows): about half the CPU
//! of binding the whole batch as one JSON parameter that the database takes apart again
//! (`json_each`, then one `->>` per column). On SQLite the placeholders are anonymous
//! `?`: for numbered ones sqlx looks every parameter's name up, a linear search each,
//! which made a 64-row statement cost twice the JSON it replaces.

use sqlx::{Any, Transaction};

use crate::connect::Backend;

/// Rows per statement: a batch is appended in chunks of these sizes (largest first), so
/// that a table needs at most this many statement texts, each prepared once per
/// connection. 64 rows of 15 columns stay far below both databases' parameter limits.
const CHUNKS: [usize; 4] = [64, 16, 4, 1];

/// One value of a row, bound as a statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell<'a> {
    /// Text, or NULL.
    Text(Option<&'a str>),
    /// Text made for the row.
    Owned(String),
    /// An integer (a boolean as 0 or 1).
    Int(i64),
    /// A floating-point number.
    Real(f64),
}

/// A table rows are appended to: its name and columns, and the column whose conflict
/// means "already stored" (a retried batch is not stored twice).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table {
    /// The table's name (a constant: no input reaches the SQL text).
    pub name: &'static str,
    /// Its columns, in the order a row's cells come in.
    pub columns: &'static [&'static str],
}

impl Table {
    /// Appends `cells` (whole rows, one after the other, in [`Table::columns`] order)
    /// inside `transaction`.
    pub(crate) async fn append(
        &self,
        backend: Backend,
        transaction: &mut Transaction<'static, Any>,
        cells: Vec<Cell<'_>>,
    ) -> Result<(), sqlx::Error> {
        let width = self.columns.len();
        let mut left = cells.len() / width;
        let mut cells = cells.into_iter();
        for size in CHUNKS {
            while left >= size {
                left -= size;
                // Built from constants only: no input reaches the SQL text.
                let mut query = sqlx::query(sqlx::AssertSqlSafe(self.insert(backend, size)));
                for cell in cells.by_ref().take(size * width) {
                    query = match cell {
                        Cell::Text(text) => query.bind(text),
                        Cell::Owned(text) => query.bind(text),
                        Cell::Int(number) => query.bind(number),
                        Cell::Real(number) => query.bind(number),
                    };
                }
                query.execute(&mut **transaction).await?;
            }
        }
        Ok(())
    }

    /// The statement that appends `rows` rows, one parameter per value, row after row:
    /// `$1`, `$2` … on PostgreSQL, anonymous `?` on SQLite (see the module's doc).
    fn insert(&self, backend: Backend, rows: usize) -> String {
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            self.name,
            self.columns.join(", ")
        );
        let mut parameter = 0;
        for row in 0..rows {
            sql.push_str(if row == 0 { "(" } else { ", (" });
            for column in 0..self.columns.len() {
                parameter += 1;
                if column > 0 {
                    sql.push_str(", ");
                }
                match backend {
                    Backend::Sqlite => sql.push('?'),
                    Backend::Postgres => sql.push_str(&format!("${parameter}")),
                }
            }
            sql.push(')');
        }
        sql.push_str(" ON CONFLICT (id) DO NOTHING");
        sql
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAIRS: Table = Table {
        name: "pairs",
        columns: &["id", "value"],
    };

    #[test]
    fn statements_number_their_parameters_on_postgres_only() {
        assert_eq!(
            PAIRS.insert(Backend::Postgres, 2),
            "INSERT INTO pairs (id, value) VALUES ($1, $2), ($3, $4) ON CONFLICT (id) DO NOTHING"
        );
        assert_eq!(
            PAIRS.insert(Backend::Sqlite, 2),
            "INSERT INTO pairs (id, value) VALUES (?, ?), (?, ?) ON CONFLICT (id) DO NOTHING"
        );
    }
}
