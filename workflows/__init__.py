"""Job specification, DAG builder and engines: everything between the provider and a running job."""
