#!/bin/sh
# Patroni calls this once, on the node that initialises the cluster, with a superuser connection string.
set -e
psql "$1" -v ON_ERROR_STOP=1 -c "CREATE ROLE app LOGIN PASSWORD 'app'" -c "CREATE DATABASE mini OWNER app"
