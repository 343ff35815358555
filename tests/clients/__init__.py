"""Tests in which Keyfactor's published Python clients talk to a running orchjobs over a real socket."""
