//! `mcpgw secrets rotate`: a new key for sealing stored secrets, added to the data
//! directory's key file. The gateway seals with it from its next start and, at that start,
//! seals again everything an older key sealed (older keys stay in the file to open it).

use std::path::PathBuf;

use clap::Subcommand;

/// `mcpgw secrets …`
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Add a new sealing key to the key file (restart the gateway to use it).
    Rotate {
        /// The gateway's data directory.
        #[arg(long, env = "MCPGW_DATA_DIR", default_value = "./mcpgw-data")]
        data_dir: PathBuf,
    },
}

/// Runs one `secrets` subcommand.
pub fn run(command: SecretsCommand) -> anyhow::Result<()> {
    match command {
        SecretsCommand::Rotate { data_dir } => {
            if std::env::var_os("MCPGW_SECRET_KEY").is_some() {
                anyhow::bail!(
                    "MCPGW_SECRET_KEY is set: rotate by setting a new MCPGW_SECRET_KEY and the \
                     old one in MCPGW_SECRET_KEYS_PREVIOUS, then restart"
                );
            }
            let id = mcpgw_auth::sealing::Keyring::rotate_file(&data_dir)?;
            println!("new sealing key {id}; restart the gateway to seal stored secrets with it");
        }
    }
    Ok(())
}
