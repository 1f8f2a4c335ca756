// The reference over MPI: an MPI job (mpirun -np N gpt2-oracle ...) as a
// Team (reference/team.h). Built with -DGPT2_ORACLE_MPI=ON (library
// gpt2_mpi, linked into gpt2-oracle only); no MPI header here.
#pragma once

#include <memory>

#include "reference/team.h"

namespace gpt2::reference {

class MpiJob : public Team {
 public:
  // Joins the job this process was started in by mpirun (MPI_Init), or
  // returns nullptr when it was not started so (no Open MPI, PMIx or PMI
  // variable in the environment): a plain run never touches MPI.
  static std::unique_ptr<MpiJob> join_if_launched(int* argc, char*** argv);
  ~MpiJob() override;  // MPI_Finalize
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void all_gather(const std::vector<uint8_t>& mine, std::vector<uint8_t>& all,
                  const std::vector<int64_t>& sizes) const override;
  // Whether every rank calls this within `seconds` (a non-blocking barrier):
  // after an error, whether all ranks failed alike (bad input, read by every
  // rank) or this one alone (then the others may wait in a collective).
  bool all_arrive_within(double seconds) const;
  // Ends every rank of the job now (MPI_Abort): for a rank that fails alone.
  [[noreturn]] void abort(int exit_code) const;

 private:
  MpiJob(int rank, int size) : rank_(rank), size_(size) {}
  int rank_ = 0, size_ = 1;
};

}  // namespace gpt2::reference
