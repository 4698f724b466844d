import { createNoopPredictor } from '../../plugins/predictor/none/index.js';
import { predictorConformance } from './predictor.js';

predictorConformance('none', () => ({ predictor: createNoopPredictor() }));
