//! Several server instances on one PostgreSQL database (the workload follows).
