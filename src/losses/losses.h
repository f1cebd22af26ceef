// Everything the losses layer offers, for callers that want one include.
#pragma once

#include "losses/cached_multiple_negatives_ranking_loss.h"
#include "losses/loss.h"
#include "losses/matryoshka_loss.h"
#include "losses/multiple_negatives_ranking_loss.h"
