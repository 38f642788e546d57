#!/usr/bin/env node
import { enableCompileCache } from 'node:module';

// V8's code cache of Strata's modules on disk (Node's default cache directory): later starts
// skip parsing and compiling them.
enableCompileCache();
await import('../dist/src/cli/main.js');
