// Test helper, loaded with `node --import`: writes the process's peak resident memory (KiB) to the
// file named by FLATTEN_TEST_PEAK_RSS when it exits, however it exits normally.
import { writeFileSync } from 'node:fs';
import process from 'node:process';

const file = process.env.FLATTEN_TEST_PEAK_RSS;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
