//! Tools and servers for the scan's unit tests.

use std::collections::BTreeMap;

use serde_json::json;

use crate::model::{Health, Server, Tool, Transport, now};

/// A tool with a description and one documented string argument.
pub fn tool(name: &str, description: &str) -> Tool {
    Tool {
        name: name.to_owned(),
        title: None,
        description: Some(description.to_owned()),
        input_schema: json!({"type": "object", "properties": {
            "text": {"type": "string", "description": "The text"}
        }}),
        output_schema: None,
        annotations: None,
    }
}

/// A registered server at `path` with `tools`.
pub fn server(path: &str, tools: Vec<Tool>) -> Server {
    Server {
        path: path.to_owned(),
        name: path.to_owned(),
        description: String::new(),
        transport: Transport::StreamableHttp,
        url: Some(format!("http://127.0.0.1:9/{path}/mcp")),
        command: None,
        args: vec![],
        env: BTreeMap::new(),
        headers: BTreeMap::new(),
        tags: vec![],
        license: None,
        version: None,
        enabled: true,
        eager: false,
        egress: crate::Egress::None,
        created_at: now(),
        updated_at: now(),
        health: Health::unknown(),
        server_info: None,
        tools,
        tools_updated_at: None,
        revision: 0,
    }
}

/// The tools of a testdata file (`everything_tools.json`, `example_tools.json`).
pub fn fixture(name: &str) -> Vec<Tool> {
    let text = match name {
        "everything" => include_str!("testdata/everything_tools.json"),
        _ => include_str!("testdata/example_tools.json"),
    };
    serde_json::from_str(text).unwrap()
}

/// Scans and approvals in memory.
#[derive(Default)]
pub struct MemoryScanStore {
    records: std::sync::Mutex<BTreeMap<String, super::ScanRecord>>,
    approvals: std::sync::Mutex<BTreeMap<String, super::Approval>>,
}

#[async_trait::async_trait]
impl super::ScanStore for MemoryScanStore {
    async fn scan_record(
        &self,
        path: &str,
    ) -> Result<Option<super::ScanRecord>, crate::StoreError> {
        Ok(self.records.lock().unwrap().get(path).cloned())
    }

    async fn save_scan(&self, record: &super::ScanRecord) -> Result<bool, crate::StoreError> {
        self.records
            .lock()
            .unwrap()
            .insert(record.path.clone(), record.clone());
        Ok(true)
    }

    async fn scan_summaries(&self) -> Result<Vec<super::ScanSummary>, crate::StoreError> {
        Ok(Vec::new())
    }

    async fn approval(&self, path: &str) -> Result<Option<super::Approval>, crate::StoreError> {
        Ok(self.approvals.lock().unwrap().get(path).cloned())
    }

    async fn save_approval(&self, approval: &super::Approval) -> Result<bool, crate::StoreError> {
        self.approvals
            .lock()
            .unwrap()
            .insert(approval.path.clone(), approval.clone());
        Ok(true)
    }
}
