//! `wasi:keyvalue@0.2.0-draft2` (`store`, `atomics`, `batch`), which Spin serves over
//! the same stores as `fermyon:spin/key-value`: a bucket is a store label the
//! component declares. `atomics` is what a counter needs: `increment` is atomic on
//! both backends, and compare-and-swap swaps only if the value is still the one
//! `cas.new` read (SQLite: in a transaction; Redis: in a script).

use std::sync::Arc;

use wasmtime::component::Resource;

use crate::interfaces::fermyon::spin2_0_0::key_value;
use crate::interfaces::wasi::keyvalue::{atomics, batch, store};
use crate::interfaces::{KvBackend, KvStore};
use crate::state::InstanceState;

/// A compare-and-swap in progress: the value `key` held when it began.
pub struct Cas {
    backend: Arc<KvBackend>,
    key: String,
    current: Option<Vec<u8>>,
}

fn store_error(e: key_value::Error) -> store::Error {
    match e {
        key_value::Error::AccessDenied => store::Error::AccessDenied,
        key_value::Error::NoSuchStore => store::Error::NoSuchStore,
        key_value::Error::StoreTableFull => store::Error::Other("too many stores open".into()),
        key_value::Error::Other(m) => store::Error::Other(m),
    }
}

impl InstanceState {
    fn bucket(&self, bucket: &Resource<KvStore>) -> wasmtime::Result<Arc<KvBackend>> {
        Ok(self.table.get(bucket)?.backend.clone())
    }
}

impl store::Host for InstanceState {
    async fn open(&mut self, identifier: String) -> wasmtime::Result<Result<Resource<KvStore>, store::Error>> {
        match self.open_key_value(&identifier).await {
            Ok(backend) => Ok(Ok(self.table.push(KvStore { backend })?)),
            Err(e) => Ok(Err(store_error(e))),
        }
    }
}

impl store::HostBucket for InstanceState {
    async fn get(
        &mut self,
        bucket: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        Ok(self.bucket(&bucket)?.get(key).await.map_err(store_error))
    }

    async fn set(
        &mut self,
        bucket: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        Ok(self.bucket(&bucket)?.set(key, value).await.map_err(store_error))
    }

    async fn delete(&mut self, bucket: Resource<KvStore>, key: String) -> wasmtime::Result<Result<(), store::Error>> {
        Ok(self.bucket(&bucket)?.delete(key).await.map_err(store_error))
    }

    async fn exists(&mut self, bucket: Resource<KvStore>, key: String) -> wasmtime::Result<Result<bool, store::Error>> {
        Ok(self.bucket(&bucket)?.exists(key).await.map_err(store_error))
    }

    /// Every key at once, no cursor, as Spin answers.
    async fn list_keys(
        &mut self,
        bucket: Resource<KvStore>,
        _cursor: Option<String>,
    ) -> wasmtime::Result<Result<store::KeyResponse, store::Error>> {
        let keys = self.bucket(&bucket)?.get_keys().await.map_err(store_error);
        Ok(keys.map(|keys| store::KeyResponse { keys, cursor: None }))
    }

    async fn drop(&mut self, bucket: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for InstanceState {
    async fn increment(
        &mut self,
        bucket: Resource<KvStore>,
        key: String,
        delta: i64,
    ) -> wasmtime::Result<Result<i64, store::Error>> {
        Ok(self.bucket(&bucket)?.increment(key, delta).await.map_err(store_error))
    }

    async fn swap(&mut self, cas: Resource<Cas>, value: Vec<u8>) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let Cas { backend, key, current } = self.table.delete(cas)?;
        match backend.swap_if(key.clone(), current, value).await {
            Ok(true) => Ok(Ok(())),
            Ok(false) => {
                // Failed: a fresh handle on the value that won, for the retry.
                let now = match backend.get(key.clone()).await {
                    Ok(now) => now,
                    Err(e) => return Ok(Err(atomics::CasError::StoreError(store_error(e)))),
                };
                let retry = self.table.push(Cas { backend, key, current: now })?;
                Ok(Err(atomics::CasError::CasFailed(retry)))
            }
            Err(e) => Ok(Err(atomics::CasError::StoreError(store_error(e)))),
        }
    }
}

impl atomics::HostCas for InstanceState {
    async fn new(
        &mut self,
        bucket: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<Resource<Cas>, store::Error>> {
        let backend = self.bucket(&bucket)?;
        let current = match backend.get(key.clone()).await {
            Ok(current) => current,
            Err(e) => return Ok(Err(store_error(e))),
        };
        Ok(Ok(self.table.push(Cas { backend, key, current })?))
    }

    async fn current(&mut self, cas: Resource<Cas>) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        Ok(Ok(self.table.get(&cas)?.current.clone()))
    }

    async fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for InstanceState {
    async fn get_many(
        &mut self,
        bucket: Resource<KvStore>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<(String, Option<Vec<u8>>)>, store::Error>> {
        let backend = self.bucket(&bucket)?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            match backend.get(key.clone()).await {
                Ok(value) => out.push((key, value)),
                Err(e) => return Ok(Err(store_error(e))),
            }
        }
        Ok(Ok(out))
    }

    async fn set_many(
        &mut self,
        bucket: Resource<KvStore>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let backend = self.bucket(&bucket)?;
        for (key, value) in key_values {
            if let Err(e) = backend.set(key, value).await {
                return Ok(Err(store_error(e)));
            }
        }
        Ok(Ok(()))
    }

    async fn delete_many(
        &mut self,
        bucket: Resource<KvStore>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let backend = self.bucket(&bucket)?;
        for key in keys {
            if let Err(e) = backend.delete(key).await {
                return Ok(Err(store_error(e)));
            }
        }
        Ok(Ok(()))
    }
}
