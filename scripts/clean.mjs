// Removes build output so that files deleted from the sources never linger in dist/.
import { rmSync } from 'node:fs';

for (const dir of process.argv.slice(2)) rmSync(dir, { recursive: true, force: true });
