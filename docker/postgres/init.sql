-- Runs once, when the postgres volume is empty. The coordinator's history lives in the default
-- database `verdict`; each demo bank owns a database, as separate services would.
CREATE DATABASE bank_a;
CREATE DATABASE bank_b;
