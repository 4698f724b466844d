import { createEwmaPredictor } from '../../plugins/predictor/ewma/index.js';
import { predictorConformance } from './predictor.js';

predictorConformance('ewma', () => ({ predictor: createEwmaPredictor() }));
predictorConformance('ewma (alpha 1)', () => ({ predictor: createEwmaPredictor({ alpha: 1 }) }));
