/** The worker entry of `runtime: threejs` skills: the whole `THREE` namespace as a global
 * (three.js builds scenes and their `toJSON()` without a DOM). */
import * as THREE from 'three';

import { serve } from './workerMain';

serve({ THREE });
